// Python literals as numpy writes them: str(dtype.descr) and the dict of a .npy header are
// repr() of str, int, bool, None, tuple, list and dict. Shared by numpy_type.cpp and
// npy_header.cpp; nothing outside src/h5 uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace h5swmrfs::h5 {

struct Literal {
    enum class Kind { String, Integer, Boolean, None, Tuple, List, Dict };
    Kind kind = Kind::None;
    std::string text;               // String: the value as UTF-8
    std::uint64_t magnitude = 0;    // Integer
    bool negative = false;          // Integer; Boolean: !value
    std::vector<Literal> items;     // Tuple, List; Dict: key, value, key, value, ...
    std::string_view source;        // the literal as written

    bool is_count() const { return kind == Kind::Integer && !negative; }
};

// Parses that subset of Python's literal syntax as ast.literal_eval would read it. Errors are
// Error(EINVAL, "<context>: <what> at offset <n>"). `text` must outlive the parser and the
// Literals it returns (their `source` points into it).
class LiteralParser {
public:
    LiteralParser(std::string_view text, std::string context) : text_(text), context_(std::move(context)) {}

    // The next value; the parser stops right after it.
    Literal value(int depth = 0);

    // The whole text is one literal (whitespace around it allowed).
    Literal all();

    std::size_t position() const { return pos_; }
    std::string_view rest() const { return text_.substr(pos_); }

private:
    [[noreturn]] void error(const std::string& what) const;
    bool at_end() const { return pos_ >= text_.size(); }
    void skip_space();
    bool word(std::string_view w);
    void sequence(Literal& out, char close, int depth);
    void integer(Literal& out);
    unsigned hex_digits(int count);
    std::string string();

    std::string_view text_;
    std::string context_;
    std::size_t pos_ = 0;
};

}  // namespace h5swmrfs::h5
