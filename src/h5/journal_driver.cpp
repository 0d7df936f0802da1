// The HDF5 virtual file driver through which a writable open reaches the file: every
// call lands in the open's Journal (journal.h).
#include "h5/journal.h"

#include <sys/stat.h>

#include <H5FDpublic.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "util/error.h"

namespace h5swmrfs::h5 {
namespace {

struct Info {
    Journal* journal;
};

}  // namespace

struct Journal::Driver {
    H5FD_t pub;  // first: HDF5 sees this part
    Journal* journal;
    haddr_t eoa;

    static Journal& of(const H5FD_t* file) { return *reinterpret_cast<const Driver*>(file)->journal; }

    static herr_t fail(const char* func, Journal& journal, const char* what) {
        const int err = journal.error() ? journal.error() : EIO;
        // "errno = N" is how HDF5's own drivers say it, and what h5::fail() looks for.
        H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, H5E_VFL,
                 H5E_WRITEERROR, "journal %s failed: errno = %d, error message = '%s'", what, err,
                 std::strerror(err));
        return -1;
    }

    static void* fapl_get(H5FD_t* file) { return new Info{reinterpret_cast<Driver*>(file)->journal}; }
    static void* fapl_copy(const void* info) { return new Info(*static_cast<const Info*>(info)); }
    static herr_t fapl_free(void* info) {
        delete static_cast<Info*>(info);
        return 0;
    }

    static H5FD_t* open(const char* name, unsigned flags, hid_t fapl, haddr_t) {
        const auto* info = static_cast<const Info*>(H5Pget_driver_info(fapl));
        if (!info || !info->journal) return nullptr;
        if (!info->journal->open_file(name, flags)) {
            fail("open", *info->journal, "open");
            return nullptr;
        }
        auto* driver = new Driver{};
        driver->journal = info->journal;
        driver->eoa = 0;
        return &driver->pub;
    }
    static herr_t close(H5FD_t* file) {
        auto* driver = reinterpret_cast<Driver*>(file);
        driver->journal->close_file();
        delete driver;
        return 0;
    }
    static int cmp(const H5FD_t* a, const H5FD_t* b) {
        struct stat sa {}, sb {};
        ::fstat(*of(a).descriptor(), &sa);
        ::fstat(*of(b).descriptor(), &sb);
        if (sa.st_dev != sb.st_dev) return sa.st_dev < sb.st_dev ? -1 : 1;
        if (sa.st_ino != sb.st_ino) return sa.st_ino < sb.st_ino ? -1 : 1;
        return 0;
    }
    static herr_t query(const H5FD_t*, unsigned long* flags) {
        *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
                 H5FD_FEAT_AGGREGATE_SMALLDATA;
        return 0;
    }
    static haddr_t get_eoa(const H5FD_t* file, H5FD_mem_t) { return reinterpret_cast<const Driver*>(file)->eoa; }
    static herr_t set_eoa(H5FD_t* file, H5FD_mem_t, haddr_t address) {
        reinterpret_cast<Driver*>(file)->eoa = address;
        return 0;
    }
    static haddr_t get_eof(const H5FD_t* file, H5FD_mem_t) { return of(file).end(); }
    static herr_t get_handle(H5FD_t* file, hid_t, void** handle) {
        *handle = of(file).descriptor();
        return 0;
    }
    static herr_t read(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t address, size_t size, void* buffer) {
        Journal& journal = of(file);
        return journal.read(address, size, buffer) ? 0 : fail("read", journal, "read");
    }
    static herr_t write(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t address, size_t size, const void* buffer) {
        Journal& journal = of(file);
        return journal.write(address, size, buffer) ? 0 : fail("write", journal, "write");
    }
    static herr_t flush(H5FD_t*, hid_t, hbool_t) { return 0; }  // durability comes with commit()
    static herr_t truncate(H5FD_t* file, hid_t, hbool_t) {
        auto* driver = reinterpret_cast<Driver*>(file);
        if (driver->eoa != driver->journal->end()) driver->journal->truncate(driver->eoa);
        return 0;
    }

    static hid_t id() {
        static const hid_t registered = [] {
            static H5FD_class_t cls{};
            cls.name = "h5swmrfs-journal";
            cls.maxaddr = static_cast<haddr_t>(LLONG_MAX);
            cls.fc_degree = H5F_CLOSE_WEAK;
            cls.fapl_size = sizeof(Info);
            cls.fapl_get = fapl_get;
            cls.fapl_copy = fapl_copy;
            cls.fapl_free = fapl_free;
            cls.open = open;
            cls.close = close;
            cls.cmp = cmp;
            cls.query = query;
            cls.get_eoa = get_eoa;
            cls.set_eoa = set_eoa;
            cls.get_eof = get_eof;
            cls.get_handle = get_handle;
            cls.read = read;
            cls.write = write;
            cls.flush = flush;
            cls.truncate = truncate;
            const H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
            std::copy(std::begin(map), std::end(map), cls.fl_map);
            return H5FDregister(&cls);
        }();
        return registered;
    }
};

void Journal::configure(hid_t fapl) {
    const hid_t driver = Driver::id();
    if (driver < 0) throw Error(EIO, "cannot register the journal file driver");
    Info info{this};
    if (H5Pset_driver(fapl, driver, &info) < 0) throw Error(EIO, "cannot set the journal file driver");
}

}  // namespace h5swmrfs::h5
