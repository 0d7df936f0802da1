#include "util/mounts.h"

#include <sys/sysmacros.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace h5swmrfs::util {
namespace {

// mountinfo writes space, tab, line feed and backslash as \ and three octal digits.
std::string decoded(std::string_view field) {
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            const std::string_view digits = field.substr(i + 1, 3);
            if (digits.find_first_not_of("01234567") == std::string_view::npos) {
                out += static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += field[i];
    }
    return out;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    std::istringstream lines{std::string(text)};
    std::string line;
    while (std::getline(lines, line)) {
        // ID PARENT MAJOR:MINOR ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS
        std::istringstream fields(line);
        std::vector<std::string> words;
        for (std::string word; fields >> word;) words.push_back(word);
        std::size_t separator = 6;
        while (separator < words.size() && words[separator] != "-") ++separator;
        if (words.size() < 6 || separator + 2 >= words.size()) continue;
        unsigned major = 0, minor = 0;
        std::sscanf(words[2].c_str(), "%u:%u", &major, &minor);
        out.push_back(MountEntry{decoded(words[4]), decoded(words[separator + 1]), decoded(words[separator + 2]),
                                 makedev(major, minor), std::strtoll(words[0].c_str(), nullptr, 10)});
    }
    return out;
}

std::vector<MountEntry> mounts() {
    std::ifstream in("/proc/self/mountinfo");
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    return parse_mountinfo(text.str());
}

std::optional<MountEntry> mount_at(const std::string& mount_point) {
    std::optional<MountEntry> found;
    for (MountEntry& entry : mounts())
        if (entry.mount_point == mount_point) found = std::move(entry);  // later entries stack on earlier ones
    return found;
}

std::string lexically_absolute(const std::string& path) {
    std::filesystem::path full = path;
    if (full.is_relative()) {
        std::error_code ec;
        full = std::filesystem::current_path(ec) / full;
    }
    std::string out = full.lexically_normal().string();
    while (out.size() > 1 && out.ends_with('/')) out.pop_back();
    return out;
}

}  // namespace h5swmrfs::util
