#include "h5/link_path.h"

#include <vector>

#include "util/error.h"

namespace h5swmrfs::h5 {

std::string relative_target(const std::string& target, unsigned depth) {
    std::string rest = target.substr(target.find_first_not_of('/') == std::string::npos
                                         ? target.size()
                                         : target.find_first_not_of('/'));
    std::string out;
    for (unsigned i = 0; i < depth; ++i) out += i ? "/.." : "..";
    if (!rest.empty()) out += (out.empty() ? "" : "/") + rest;
    return out.empty() ? "." : out;
}

std::string external_target(const std::string& file, const std::string& path) { return file + "::" + path; }

LinkValue link_value_of(const std::string& target, const std::string& directory, const std::string& mountpoint) {
    LinkValue out;
    if (auto sep = target.find("::"); sep != std::string::npos && sep > 0) {
        out.external = true;
        out.file = target.substr(0, sep);
        out.path = target.substr(sep + 2);
        if (out.path.empty()) out.path = "/";
        return out;
    }
    std::string absolute;
    if (target.starts_with('/')) {
        if (target != mountpoint && !target.starts_with(mountpoint + "/"))
            throw Error(EINVAL, "symlink target " + target + " lies outside the mount");
        absolute = target.substr(mountpoint.size());
    } else if (target.find("..") == std::string::npos && target.find("./") == std::string::npos) {
        out.path = target;
        return out;
    } else {
        absolute = directory + "/" + target;
    }
    // Normalise "." and ".." components.
    std::vector<std::string> parts;
    std::size_t at = 0;
    while (at <= absolute.size()) {
        std::size_t next = absolute.find('/', at);
        if (next == std::string::npos) next = absolute.size();
        std::string part = absolute.substr(at, next - at);
        if (part == "..") {
            if (parts.empty()) throw Error(EINVAL, "symlink target " + target + " lies outside the mount");
            parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        at = next + 1;
    }
    out.path = "/";
    for (std::size_t i = 0; i < parts.size(); ++i) out.path += (i ? "/" : "") + parts[i];
    return out;
}

}  // namespace h5swmrfs::h5
