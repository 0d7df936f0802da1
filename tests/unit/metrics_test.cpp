// src/metrics: counters and histograms under many threads, the registry's text exposition
// (format 0.0.4) line by line, outcomes by errno name, and --metrics addresses.
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "metrics/address.h"
#include "metrics/exposition.h"
#include "metrics/registry.h"
#include "metrics/results.h"
#include "util/error.h"

using namespace h5swmrfs;
using namespace h5swmrfs::metrics;

TEST_CASE("a counter counts every add of every thread") {
    Counter counter;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) counter.add();
        });
    for (auto& thread : threads) thread.join();
    counter.add(5);
    CHECK(counter.value() == 80005);
}

TEST_CASE("a histogram puts a value in the first bucket whose bound is not below it") {
    Histogram histogram({1, 2, 5});
    for (double value : {0.5, 1.0, 1.5, 2.0, 4.0, 5.0, 7.0, 100.0}) histogram.observe(value);
    const Histogram::Snapshot shot = histogram.snapshot();
    CHECK(shot.cumulative == std::vector<std::uint64_t>{2, 4, 6, 8});  // <=1, <=2, <=5, +Inf
    CHECK(shot.count == 8);
    CHECK(shot.sum == Approx(121.0));
}

TEST_CASE("a histogram takes durations in seconds") {
    Histogram histogram(duration_bounds());
    histogram.observe(std::chrono::microseconds(50));
    histogram.observe(std::chrono::milliseconds(3));
    histogram.observe(std::chrono::seconds(100));
    const Histogram::Snapshot shot = histogram.snapshot();
    CHECK(shot.cumulative.front() == 1);                // <= 100 µs
    CHECK(shot.cumulative[shot.cumulative.size() - 2] == 2);  // <= 60 s
    CHECK(shot.count == 3);
    CHECK(shot.sum == Approx(100.00305));
}

TEST_CASE("a histogram under many threads loses no observation") {
    Histogram histogram({0.5});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5000; ++i) histogram.observe(t % 2 ? 1.0 : 0.25);
        });
    for (auto& thread : threads) thread.join();
    const Histogram::Snapshot shot = histogram.snapshot();
    CHECK(shot.cumulative == std::vector<std::uint64_t>{10000, 20000});
    CHECK(shot.sum == Approx(10000 * 1.0 + 10000 * 0.25));
}

TEST_CASE("histogram bounds must increase") {
    CHECK_THROWS_AS(Histogram({1, 1}), Error);
    CHECK_THROWS_AS(Histogram({2, 1}), Error);
    CHECK_THROWS_AS(Histogram({1, std::numeric_limits<double>::infinity()}), Error);
}

TEST_CASE("the registry gives the same series for the same name and labels") {
    Registry registry;
    Counter& a = registry.counter("x_total", "X.", {{"k", "1"}});
    Counter& b = registry.counter("x_total", "X.", {{"k", "1"}});
    Counter& c = registry.counter("x_total", "X.", {{"k", "2"}});
    CHECK(&a == &b);
    CHECK(&a != &c);
    CHECK_THROWS_AS(registry.histogram("x_total", "X."), Error);  // another kind
    CHECK_THROWS_AS(registry.counter("1x", "bad name"), Error);
    CHECK_THROWS_AS(registry.counter("x_total", "X.", {{"bad-label", "v"}}), Error);
    CHECK_THROWS_AS(registry.counter("y_total", "Y.", {{"__reserved", "v"}}), Error);
    CHECK_THROWS_AS(registry.histogram("h", "H.", {{"le", "1"}}), Error);
}

TEST_CASE("exposition: families by name, series by labels, histograms cumulative") {
    Registry registry;
    registry.counter("b_total", "Counts b.", {{"op", "write"}}).add(2);
    registry.counter("b_total", "Counts b.", {{"op", "read"}}).add(7);
    Histogram& h = registry.histogram("a_seconds", "Waits.", {{"mode", "shared"}}, {0.5, 1});
    h.observe(0.25);
    h.observe(0.75);
    h.observe(3.0);
    registry.counter("c_total", "No labels.");
    CHECK(registry.exposition() ==
          "# HELP a_seconds Waits.\n"
          "# TYPE a_seconds histogram\n"
          "a_seconds_bucket{mode=\"shared\",le=\"0.5\"} 1\n"
          "a_seconds_bucket{mode=\"shared\",le=\"1\"} 2\n"
          "a_seconds_bucket{mode=\"shared\",le=\"+Inf\"} 3\n"
          "a_seconds_sum{mode=\"shared\"} 4\n"
          "a_seconds_count{mode=\"shared\"} 3\n"
          "# HELP b_total Counts b.\n"
          "# TYPE b_total counter\n"
          "b_total{op=\"read\"} 7\n"
          "b_total{op=\"write\"} 2\n"
          "# HELP c_total No labels.\n"
          "# TYPE c_total counter\n"
          "c_total 0\n");
}

TEST_CASE("exposition escapes help text and label values") {
    CHECK(text::help("a\\b\nc \"q\"") == "a\\\\b\\nc \"q\"");
    CHECK(text::labels({{"path", "/a \"b\"\\c\nd"}}) == "{path=\"/a \\\"b\\\"\\\\c\\nd\"}");
    CHECK(text::labels({}) == "");
    CHECK(text::labels({}, "+Inf") == "{le=\"+Inf\"}");
    Registry registry;
    registry.counter("x_total", "Line one\nline two.", {{"file", "we\"ird\\"}}).add();
    CHECK(registry.exposition() ==
          "# HELP x_total Line one\\nline two.\n"
          "# TYPE x_total counter\n"
          "x_total{file=\"we\\\"ird\\\\\"} 1\n");
}

TEST_CASE("exposition numbers: shortest decimal, and the infinities") {
    CHECK(text::number(0.0001) == "0.0001");
    CHECK(text::number(2.5) == "2.5");
    CHECK(text::number(60.0) == "60");
    CHECK(text::number(0.1 + 0.2) == "0.30000000000000004");
    CHECK(text::number(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(text::number(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(text::number(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(text::number(std::uint64_t{18446744073709551615u}) == "18446744073709551615");
}

TEST_CASE("metric and label names") {
    CHECK(text::valid_metric_name("h5swmrfs_read_bytes_total"));
    CHECK(text::valid_metric_name("a:b_c"));
    CHECK_FALSE(text::valid_metric_name(""));
    CHECK_FALSE(text::valid_metric_name("9a"));
    CHECK_FALSE(text::valid_metric_name("a-b"));
    CHECK(text::valid_label_name("op"));
    CHECK_FALSE(text::valid_label_name("a:b"));
    CHECK_FALSE(text::valid_label_name("__name__"));
}

TEST_CASE("outcomes: ok from the start, an errno's series when it first comes") {
    Registry registry;
    ResultCounters results(registry, "ops_total", "Ops.", {{"op", "read"}});
    CHECK(registry.exposition() == "# HELP ops_total Ops.\n# TYPE ops_total counter\nops_total{op=\"read\",result=\"ok\"} 0\n");
    results.count(0);
    results.count(0);
    results.count(ENOENT);
    results.count(EIO);
    results.count(ENOENT);
    results.count(100000);  // no errno: counted, as "unknown"
    CHECK(registry.exposition() ==
          "# HELP ops_total Ops.\n"
          "# TYPE ops_total counter\n"
          "ops_total{op=\"read\",result=\"EIO\"} 1\n"
          "ops_total{op=\"read\",result=\"ENOENT\"} 2\n"
          "ops_total{op=\"read\",result=\"ok\"} 2\n"
          "ops_total{op=\"read\",result=\"unknown\"} 1\n");
}

TEST_CASE("outcomes counted by many threads at once, a new errno included") {
    Registry registry;
    ResultCounters results(registry, "ops_total", "Ops.", {});
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) results.count(i % 2 ? EBUSY : 0);
        });
    for (auto& thread : threads) thread.join();
    CHECK(registry.counter("ops_total", "Ops.", {{"result", "EBUSY"}}).value() == 6000);
    CHECK(registry.counter("ops_total", "Ops.", {{"result", "ok"}}).value() == 6000);
}

TEST_CASE("errno names") {
    CHECK(errno_name(ENOENT) == "ENOENT");
    CHECK(errno_name(EBUSY) == "EBUSY");
    CHECK(errno_name(ENOTCONN) == "ENOTCONN");
    CHECK(errno_name(100000) == "E100000");
}

TEST_CASE("--metrics addresses: IP literals, localhost, brackets, unix sockets") {
    ListenAddress a = parse_listen_address("127.0.0.1:9464");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 9464);
    CHECK_FALSE(a.is_unix());
    CHECK(a.text() == "127.0.0.1:9464");
    CHECK(parse_listen_address("localhost:1").host == "127.0.0.1");
    CHECK(parse_listen_address("0.0.0.0:65535").host == "0.0.0.0");
    ListenAddress v6 = parse_listen_address("[::1]:9464");
    CHECK(v6.host == "::1");
    CHECK(v6.text() == "[::1]:9464");
    CHECK(parse_listen_address("[::]:80").host == "::");
    ListenAddress u = parse_listen_address("unix:/run/h5.sock");
    CHECK(u.is_unix());
    CHECK(u.unix_path == "/run/h5.sock");
    CHECK(u.text() == "unix:/run/h5.sock");
    CHECK(parse_listen_address("unix:relative.sock").unix_path == "relative.sock");
}

TEST_CASE("--metrics addresses refused, with the reason") {
    auto refused = [](const char* text) {
        try {
            parse_listen_address(text);
        } catch (const Error& e) {
            CHECK(e.code() == EINVAL);
            return std::string(e.what());
        }
        FAIL("accepted " << text);
        return std::string();
    };
    CHECK_THAT(refused("9464"), Catch::Contains("no port"));
    CHECK_THAT(refused(":9464"), Catch::Contains("no host"));
    CHECK_THAT(refused("example.org:9464"), Catch::Contains("not an IP address"));
    CHECK_THAT(refused("metrics-host:9464"), Catch::Contains("not an IP address"));
    CHECK_THAT(refused("127.1:9464"), Catch::Contains("not an IP address"));
    CHECK_THAT(refused("::1:9464"), Catch::Contains("brackets"));
    CHECK_THAT(refused("[127.0.0.1]:9464"), Catch::Contains("not an IPv6 address"));
    CHECK_THAT(refused("127.0.0.1:0"), Catch::Contains("port"));
    CHECK_THAT(refused("127.0.0.1:65536"), Catch::Contains("port"));
    CHECK_THAT(refused("127.0.0.1:94x"), Catch::Contains("port"));
    CHECK_THAT(refused("127.0.0.1:"), Catch::Contains("port"));
    CHECK_THAT(refused("127.0.0.1:-1"), Catch::Contains("port"));
    CHECK_THAT(refused("unix:"), Catch::Contains("no socket path"));
    CHECK_THAT(refused(("unix:/" + std::string(200, 'a')).c_str()), Catch::Contains("at most"));
}
