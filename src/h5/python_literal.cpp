// Reads the Python literals numpy writes (see python_literal.h).
#include "h5/python_literal.h"

#include "util/error.h"
#include "util/text.h"

#include <cctype>
#include <charconv>
#include <utility>

namespace h5swmrfs::h5 {

Literal LiteralParser::value(int depth) {
    if (depth > 64) error("nested too deeply");
    skip_space();
    if (at_end()) error("unexpected end");
    std::size_t start = pos_;
    Literal out;
    char c = text_[pos_];
    if (c == '(' || c == '[' || c == '{') {
        ++pos_;
        out.kind = c == '(' ? Literal::Kind::Tuple : c == '[' ? Literal::Kind::List : Literal::Kind::Dict;
        sequence(out, c == '(' ? ')' : c == '[' ? ']' : '}', depth);
    } else if (c == '\'' || c == '"' || ((c == 'u' || c == 'U' || c == 'b' || c == 'B') && pos_ + 1 < text_.size() &&
                                         (text_[pos_ + 1] == '\'' || text_[pos_ + 1] == '"'))) {
        out.kind = Literal::Kind::String;
        out.text = string();
    } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
        out.kind = Literal::Kind::Integer;
        integer(out);
    } else if (word("True")) {
        out.kind = Literal::Kind::Boolean;
    } else if (word("False")) {
        out.kind = Literal::Kind::Boolean;
        out.negative = true;
    } else if (word("None")) {
        out.kind = Literal::Kind::None;
    } else {
        error(std::string("unexpected '") + c + "'");
    }
    out.source = text_.substr(start, pos_ - start);
    return out;
}

Literal LiteralParser::all() {
    Literal out = value();
    skip_space();
    if (!at_end()) error("unexpected text after the value");
    return out;
}

void LiteralParser::error(const std::string& what) const {
    throw Error(EINVAL, context_ + ": " + what + " at offset " + std::to_string(pos_));
}

void LiteralParser::skip_space() {
    while (!at_end() && util::is_ascii_space(text_[pos_])) ++pos_;
}

bool LiteralParser::word(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w) return false;
    std::size_t end = pos_ + w.size();
    if (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_'))
        return false;
    pos_ = end;
    return true;
}

void LiteralParser::sequence(Literal& out, char close, int depth) {
    bool dict = close == '}';
    bool saw_comma = false;
    for (;;) {
        skip_space();
        if (at_end()) error(std::string("missing '") + close + "'");
        if (text_[pos_] == close) {
            ++pos_;
            break;
        }
        if (!out.items.empty() && !saw_comma) error("expected ',' or '" + std::string(1, close) + "'");
        out.items.push_back(value(depth + 1));
        if (dict) {
            skip_space();
            if (at_end() || text_[pos_] != ':') error("expected ':' in a dict");
            ++pos_;
            out.items.push_back(value(depth + 1));
        }
        skip_space();
        saw_comma = !at_end() && text_[pos_] == ',';
        if (saw_comma) ++pos_;
    }
    // Python: (x) is x, and a one-item tuple needs its comma.
    if (close == ')' && out.items.size() == 1 && !saw_comma) {
        Literal inner = std::move(out.items.front());
        out = std::move(inner);
    }
}

void LiteralParser::integer(Literal& out) {
    if (text_[pos_] == '-' || text_[pos_] == '+') {
        out.negative = text_[pos_] == '-';
        ++pos_;
        skip_space();
    }
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    auto [ptr, ec] = std::from_chars(begin, end, out.magnitude);
    if (ec == std::errc::result_out_of_range) error("integer too large");
    if (ec != std::errc() || ptr == begin) error("expected a number");
    pos_ += static_cast<std::size_t>(ptr - begin);
    if (!at_end() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;  // Python 2 longs in old .npy headers
    if (!at_end() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
        error("expected an integer");
    if (out.magnitude == 0) out.negative = false;
}

unsigned LiteralParser::hex_digits(int count) {
    unsigned value = 0;
    for (int i = 0; i < count; ++i, ++pos_) {
        if (at_end() || !std::isxdigit(static_cast<unsigned char>(text_[pos_]))) error("bad \\x, \\u or \\U escape");
        char c = text_[pos_];
        value = value * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return value;
}

std::string LiteralParser::string() {
    bool bytes = false;
    if (text_[pos_] != '\'' && text_[pos_] != '"') {
        bytes = text_[pos_] == 'b' || text_[pos_] == 'B';
        ++pos_;
    }
    char quote = text_[pos_++];
    std::string out;
    for (;;) {
        if (at_end() || text_[pos_] == '\n') error("unterminated string");
        char c = text_[pos_++];
        if (c == quote) break;
        if (c != '\\') {
            out += c;
            continue;
        }
        if (at_end()) error("unterminated string");
        char e = text_[pos_++];
        switch (e) {
            case '\n': break;
            case '\\': case '\'': case '"': out += e; break;
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case 'x': {
                unsigned code = hex_digits(2);
                if (bytes) out += static_cast<char>(code);
                else util::append_utf8(out, code);
                break;
            }
            case 'u': case 'U': {
                if (bytes) {
                    out += '\\';
                    out += e;
                    break;
                }
                unsigned code = hex_digits(e == 'u' ? 4 : 8);
                if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) error("escape names no Unicode character");
                util::append_utf8(out, code);
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    unsigned code = static_cast<unsigned>(e - '0');
                    for (int i = 0; i < 2 && !at_end() && text_[pos_] >= '0' && text_[pos_] <= '7'; ++i)
                        code = code * 8 + static_cast<unsigned>(text_[pos_++] - '0');
                    if (bytes) out += static_cast<char>(code & 0xFF);
                    else util::append_utf8(out, code);
                } else {
                    out += '\\';  // Python keeps unknown escapes as written
                    out += e;
                }
        }
    }
    return out;
}

}  // namespace h5swmrfs::h5
