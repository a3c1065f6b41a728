#ifndef LOOM_FAULTVFS_H
#define LOOM_FAULTVFS_H
#include <stdint.h>

/* A SQLite VFS that wraps the default one for the whole-system simulator: it fails reads,
 * writes and syncs on demand (EIO, ENOSPC, short writes), remembers every write made since
 * its file's last sync, and at a simulated power cut drops them (whole, or with one write
 * torn), then refuses all I/O until revived, as a dead machine would. One instance per
 * simulation, registered under its own name, so simulations in one process do not meet. */

typedef struct faultvfs faultvfs;

typedef struct {
    double io_error_rate;    /* a read, write or sync fails with SQLITE_IOERR (EIO) */
    double disk_full_rate;   /* a write fails with SQLITE_FULL (ENOSPC), writing nothing */
    double short_write_rate; /* a write stores a prefix and fails (SQLITE_IOERR_WRITE) */
} faultvfs_rates;

typedef struct {
    int64_t reads, writes, syncs;
    int64_t io_errors, disk_full, short_writes;
    int64_t power_cuts, torn_writes, dropped_writes;
} faultvfs_counts;

/* Registers a VFS named `name` (not the default) with its own seeded chance. NULL on failure. */
faultvfs *faultvfs_create(const char *name, uint64_t seed);
/* Unregisters and frees it; every file opened through it must be closed. */
void faultvfs_destroy(faultvfs *vfs);
void faultvfs_set_rates(faultvfs *vfs, faultvfs_rates rates);
/* The machine loses power: writes since each file's last sync are undone, newest first, down
 * to a random point; with `torn`, the write at that point keeps only a prefix (512-byte
 * sectors). Then every write, sync, truncate and delete fails until `faultvfs_revive`. */
void faultvfs_power_cut(faultvfs *vfs, int torn);
/* The process dies (the page cache survives): nothing is undone, but all I/O is refused
 * until revived, so closing the dead process's connections writes nothing. */
void faultvfs_crash(faultvfs *vfs);
void faultvfs_revive(faultvfs *vfs);
faultvfs_counts faultvfs_get_counts(const faultvfs *vfs);

typedef enum { FAULTVFS_READ = 0, FAULTVFS_WRITE = 1, FAULTVFS_SYNC = 2 } faultvfs_operation;
typedef enum { FAULTVFS_EIO = 0, FAULTVFS_ENOSPC = 1 } faultvfs_failure;
/* The `nth` operation of that kind from now on (1 = the next) fails with `failure`, once
 * (ENOSPC applies to writes only; elsewhere it is EIO). */
void faultvfs_fail_nth(faultvfs *vfs, faultvfs_operation operation, int nth, faultvfs_failure failure);

#endif
