#include "format.h"

#include "lock/identity.h"

#include <cstdio>
#include <sstream>

namespace h5swmrfs::ctl {
namespace {

std::string seconds(double s) {
    if (s < 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
}

std::string number(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return buf;
}

void text_lines(std::ostringstream& out, const std::vector<lock::Participant>& list) {
    for (const auto& p : list) {
        out << "  " << (p.mode == "X" ? "exclusive" : p.mode == "S" ? "shared   " : "?        ") << "  host=" << p.host
            << " pid=" << p.pid << " mount=" << (p.label.empty() ? "-" : p.label) << " age=" << seconds(p.age_seconds);
        if (p.lease_left_seconds >= 0 || p.state == "expired")
            out << " lease-left=" << (p.state == "expired" ? "expired" : seconds(p.lease_left_seconds));
        if (p.state == "broken") out << " BROKEN (kept until its lease ends)";
        if (p.state == "dropping" || (p.state == "expired" && p.generation)) out << " generation=" << p.generation;
        out << "\n";
    }
}

void json_list(std::ostringstream& out, const std::vector<lock::Participant>& list) {
    out << "[";
    bool first = true;
    for (const auto& p : list) {
        out << (first ? "" : ",") << "{\"token\":" << lock::json_quote(p.token) << ",\"state\":" << lock::json_quote(p.state)
            << ",\"mode\":" << lock::json_quote(p.mode) << ",\"host\":" << lock::json_quote(p.host) << ",\"pid\":" << p.pid
            << ",\"mount\":" << lock::json_quote(p.label) << ",\"age_seconds\":"
            << (p.age_seconds < 0 ? "null" : number(p.age_seconds)) << ",\"lease_left_seconds\":"
            << (p.lease_left_seconds < 0 && p.state != "expired" ? "null" : number(p.lease_left_seconds));
        if (p.state == "dropping" || p.generation) out << ",\"generation\":" << p.generation;
        out << "}";
        first = false;
    }
    out << "]";
}

// h5pyswmr: the counters and the simple locks, as redis has them.
void h5pyswmr_text(std::ostringstream& out, const lock::LockStatus& status) {
    out << "counters:";
    for (const auto& [name, value] : status.counters) out << " " << name << "=" << value;
    out << "\n";
    for (const auto& l : status.simple_locks) {
        out << "  " << l.name << ": ";
        if (l.holder.empty()) {
            out << "free\n";
            continue;
        }
        out << l.holder << " ttl=" << (l.missing_ttl ? "NONE (stays until deleted)" : seconds(l.ttl_seconds)) << "\n";
    }
}

void h5pyswmr_json(std::ostringstream& out, const lock::LockStatus& status) {
    out << ",\"counters\":{";
    bool first = true;
    for (const auto& [name, value] : status.counters) {
        out << (first ? "" : ",") << lock::json_quote(name) << ":" << value;
        first = false;
    }
    out << "},\"simple_locks\":{";
    first = true;
    for (const auto& l : status.simple_locks) {
        out << (first ? "" : ",") << lock::json_quote(l.name) << ":{\"holder\":"
            << (l.holder.empty() ? "null" : lock::json_quote(l.holder)) << ",\"ttl_seconds\":"
            << (l.ttl_seconds < 0 ? "null" : number(l.ttl_seconds)) << ",\"missing_ttl\":" << (l.missing_ttl ? "true" : "false")
            << "}";
        first = false;
    }
    out << "}";
}

}  // namespace

std::string participants_text(const std::vector<lock::Participant>& list) {
    std::ostringstream out;
    text_lines(out, list);
    return out.str();
}

std::string participants_json(const std::vector<lock::Participant>& list) {
    std::ostringstream out;
    json_list(out, list);
    return out.str();
}

std::string status_text(const lock::LockStatus& status) {
    std::ostringstream out;
    out << "lock " << status.key << " (" << status.backend;
    if (status.where != status.key) out << " at " << status.where;
    out << ")\n";
    out << "generation " << status.generation << ", fence " << status.fence << "\n";
    if (status.backend == "h5pyswmr") h5pyswmr_text(out, status);
    out << "holders: " << status.holders.size() << "\n";
    text_lines(out, status.holders);
    out << "waiting: " << status.waiting.size() << "\n";
    text_lines(out, status.waiting);
    out << "drops pending: " << status.drops.size() << "\n";
    text_lines(out, status.drops);
    return out.str();
}

std::string status_json(const lock::LockStatus& status) {
    std::ostringstream out;
    out << "{\"backend\":" << lock::json_quote(status.backend) << ",\"key\":" << lock::json_quote(status.key)
        << ",\"where\":" << lock::json_quote(status.where) << ",\"generation\":" << status.generation
        << ",\"fence\":" << status.fence << ",\"holders\":";
    json_list(out, status.holders);
    out << ",\"waiting\":";
    json_list(out, status.waiting);
    out << ",\"drops\":";
    json_list(out, status.drops);
    if (status.backend == "h5pyswmr") h5pyswmr_json(out, status);
    out << "}\n";
    return out.str();
}

}  // namespace h5swmrfs::ctl
