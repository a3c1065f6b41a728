#include "faultvfs.h"
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* One write not yet covered by a sync of its file: enough to undo it. */
typedef struct {
    struct ffile *file;
    sqlite3_int64 offset;
    int length;
    unsigned char *old;   /* the bytes it overwrote (old_length of them) */
    int old_length;
    sqlite3_int64 old_size; /* the file's size before it */
} pending_write;

struct faultvfs {
    sqlite3_vfs base;
    sqlite3_vfs *root;
    char *name;
    uint64_t chance_state;
    faultvfs_rates rates;
    faultvfs_counts counts;
    int dead;
    int countdown[3];           /* per operation: fail when it reaches zero; 0 = off */
    faultvfs_failure planned[3];
    pending_write *pending;
    int pending_count, pending_capacity;
};

typedef struct ffile {
    sqlite3_file base;
    faultvfs *vfs;
    sqlite3_file *real; /* the root VFS's file, allocated right after this struct */
} ffile;

/* Bounded: past this many unsynced writes the oldest are taken as synced (a limit, so a
 * run that never syncs cannot grow without end; NORMAL checkpoints sync long before). */
#define PENDING_MAX 100000

static uint64_t next_random(faultvfs *vfs) {
    uint64_t z = (vfs->chance_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int happens(faultvfs *vfs, double rate) {
    if (rate <= 0) return 0;
    return (double)(next_random(vfs) >> 11) / (double)(1ull << 53) < rate;
}

/* A planned failure of the nth operation: 1 when this one is it. */
static int planned_now(faultvfs *vfs, faultvfs_operation operation) {
    if (vfs->countdown[operation] <= 0) return 0;
    return --vfs->countdown[operation] == 0;
}

static void forget_pending(faultvfs *vfs, ffile *file) {
    int kept = 0;
    for (int i = 0; i < vfs->pending_count; i++) {
        if (file == NULL || vfs->pending[i].file == file) {
            free(vfs->pending[i].old);
        } else {
            vfs->pending[kept++] = vfs->pending[i];
        }
    }
    vfs->pending_count = kept;
}

static int remember_write(faultvfs *vfs, ffile *file, sqlite3_int64 offset, int length) {
    if (vfs->pending_count >= PENDING_MAX) {
        free(vfs->pending[0].old);
        memmove(vfs->pending, vfs->pending + 1, sizeof(pending_write) * (size_t)(vfs->pending_count - 1));
        vfs->pending_count--;
    }
    if (vfs->pending_count == vfs->pending_capacity) {
        int capacity = vfs->pending_capacity ? vfs->pending_capacity * 2 : 64;
        pending_write *grown = realloc(vfs->pending, sizeof(pending_write) * (size_t)capacity);
        if (!grown) return SQLITE_NOMEM;
        vfs->pending = grown;
        vfs->pending_capacity = capacity;
    }
    sqlite3_int64 size = 0;
    int rc = file->real->pMethods->xFileSize(file->real, &size);
    if (rc != SQLITE_OK) return rc;
    int old_length = 0;
    if (offset < size) old_length = (int)((size - offset) < length ? (size - offset) : length);
    unsigned char *old = NULL;
    if (old_length > 0) {
        old = malloc((size_t)old_length);
        if (!old) return SQLITE_NOMEM;
        rc = file->real->pMethods->xRead(file->real, old, old_length, offset);
        if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) { free(old); return rc; }
    }
    pending_write *entry = &vfs->pending[vfs->pending_count++];
    entry->file = file;
    entry->offset = offset;
    entry->length = length;
    entry->old = old;
    entry->old_length = old_length;
    entry->old_size = size;
    return SQLITE_OK;
}

/* Undoes bytes [from, length) of a pending write: puts back what was there, shrinks the file
 * to its size before the write when the write grew it. */
static void undo_write(pending_write *entry, int from) {
    sqlite3_file *real = entry->file->real;
    if (from < entry->old_length) {
        real->pMethods->xWrite(real, entry->old + from, entry->old_length - from, entry->offset + from);
    }
    sqlite3_int64 end = entry->offset + entry->length;
    if (end > entry->old_size) {
        sqlite3_int64 keep = entry->offset + from > entry->old_size ? entry->offset + from : entry->old_size;
        real->pMethods->xTruncate(real, keep);
    }
}

/* ---- file methods ---- */

static int f_close(sqlite3_file *handle) {
    ffile *file = (ffile *)handle;
    forget_pending(file->vfs, file);
    return file->real->pMethods->xClose(file->real);
}

static int f_read(sqlite3_file *handle, void *buffer, int amount, sqlite3_int64 offset) {
    ffile *file = (ffile *)handle;
    file->vfs->counts.reads++;
    if (planned_now(file->vfs, FAULTVFS_READ)) {
        file->vfs->counts.io_errors++;
        return SQLITE_IOERR_READ;
    }
    if (!file->vfs->dead && happens(file->vfs, file->vfs->rates.io_error_rate)) {
        file->vfs->counts.io_errors++;
        return SQLITE_IOERR_READ;
    }
    return file->real->pMethods->xRead(file->real, buffer, amount, offset);
}

static int f_write(sqlite3_file *handle, const void *buffer, int amount, sqlite3_int64 offset) {
    ffile *file = (ffile *)handle;
    faultvfs *vfs = file->vfs;
    if (vfs->dead) return SQLITE_IOERR_WRITE;
    vfs->counts.writes++;
    if (planned_now(vfs, FAULTVFS_WRITE)) {
        if (vfs->planned[FAULTVFS_WRITE] == FAULTVFS_ENOSPC) { vfs->counts.disk_full++; return SQLITE_FULL; }
        vfs->counts.io_errors++;
        return SQLITE_IOERR_WRITE;
    }
    if (happens(vfs, vfs->rates.disk_full_rate)) {
        vfs->counts.disk_full++;
        return SQLITE_FULL;
    }
    if (happens(vfs, vfs->rates.io_error_rate)) {
        vfs->counts.io_errors++;
        return SQLITE_IOERR_WRITE;
    }
    int rc = remember_write(vfs, file, offset, amount);
    if (rc != SQLITE_OK) return rc;
    if (amount > 1 && happens(vfs, vfs->rates.short_write_rate)) {
        vfs->counts.short_writes++;
        int part = 1 + (int)(next_random(vfs) % (uint64_t)(amount - 1));
        file->real->pMethods->xWrite(file->real, buffer, part, offset);
        return SQLITE_IOERR_WRITE;
    }
    return file->real->pMethods->xWrite(file->real, buffer, amount, offset);
}

static int f_truncate(sqlite3_file *handle, sqlite3_int64 size) {
    ffile *file = (ffile *)handle;
    if (file->vfs->dead) return SQLITE_IOERR_TRUNCATE;
    return file->real->pMethods->xTruncate(file->real, size);
}

static int f_sync(sqlite3_file *handle, int flags) {
    ffile *file = (ffile *)handle;
    faultvfs *vfs = file->vfs;
    if (vfs->dead) return SQLITE_IOERR_FSYNC;
    vfs->counts.syncs++;
    if (planned_now(vfs, FAULTVFS_SYNC)) {
        vfs->counts.io_errors++;
        return SQLITE_IOERR_FSYNC;
    }
    if (happens(vfs, vfs->rates.io_error_rate)) {
        vfs->counts.io_errors++;
        return SQLITE_IOERR_FSYNC;
    }
    int rc = file->real->pMethods->xSync(file->real, flags);
    if (rc == SQLITE_OK) forget_pending(vfs, file);
    return rc;
}

static int f_file_size(sqlite3_file *handle, sqlite3_int64 *size) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xFileSize(file->real, size);
}
static int f_lock(sqlite3_file *handle, int level) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xLock(file->real, level);
}
static int f_unlock(sqlite3_file *handle, int level) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xUnlock(file->real, level);
}
static int f_check_reserved(sqlite3_file *handle, int *out) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xCheckReservedLock(file->real, out);
}
static int f_file_control(sqlite3_file *handle, int op, void *argument) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xFileControl(file->real, op, argument);
}
static int f_sector_size(sqlite3_file *handle) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xSectorSize(file->real);
}
static int f_device_characteristics(sqlite3_file *handle) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}
static int f_shm_map(sqlite3_file *handle, int region, int size, int extend, void volatile **out) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xShmMap(file->real, region, size, extend, out);
}
static int f_shm_lock(sqlite3_file *handle, int offset, int n, int flags) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xShmLock(file->real, offset, n, flags);
}
static void f_shm_barrier(sqlite3_file *handle) {
    ffile *file = (ffile *)handle;
    file->real->pMethods->xShmBarrier(file->real);
}
static int f_shm_unmap(sqlite3_file *handle, int delete_flag) {
    ffile *file = (ffile *)handle;
    return file->real->pMethods->xShmUnmap(file->real, file->vfs->dead ? 0 : delete_flag);
}
static int f_fetch(sqlite3_file *handle, sqlite3_int64 offset, int amount, void **out) {
    /* No memory-mapped reads: every read goes through f_read, where faults are. */
    (void)handle; (void)offset; (void)amount;
    *out = NULL;
    return SQLITE_OK;
}
static int f_unfetch(sqlite3_file *handle, sqlite3_int64 offset, void *pointer) {
    (void)handle; (void)offset; (void)pointer;
    return SQLITE_OK;
}

static const sqlite3_io_methods file_methods = {
    3, f_close, f_read, f_write, f_truncate, f_sync, f_file_size, f_lock, f_unlock,
    f_check_reserved, f_file_control, f_sector_size, f_device_characteristics,
    f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch,
};

/* ---- VFS methods ---- */

static int v_open(sqlite3_vfs *base, const char *name, sqlite3_file *handle, int flags, int *out_flags) {
    faultvfs *vfs = (faultvfs *)base;
    ffile *file = (ffile *)handle;
    memset(file, 0, sizeof(ffile));
    file->vfs = vfs;
    file->real = (sqlite3_file *)&file[1];
    int rc = vfs->root->xOpen(vfs->root, name, file->real, flags, out_flags);
    file->base.pMethods = file->real->pMethods ? &file_methods : NULL;
    return rc;
}
static int v_delete(sqlite3_vfs *base, const char *name, int sync_dir) {
    faultvfs *vfs = (faultvfs *)base;
    if (vfs->dead) return SQLITE_IOERR_DELETE;
    return vfs->root->xDelete(vfs->root, name, sync_dir);
}
static int v_access(sqlite3_vfs *base, const char *name, int flags, int *out) {
    faultvfs *vfs = (faultvfs *)base;
    return vfs->root->xAccess(vfs->root, name, flags, out);
}
static int v_full_pathname(sqlite3_vfs *base, const char *name, int size, char *out) {
    faultvfs *vfs = (faultvfs *)base;
    return vfs->root->xFullPathname(vfs->root, name, size, out);
}
static void *v_dl_open(sqlite3_vfs *base, const char *name) { return ((faultvfs *)base)->root->xDlOpen(((faultvfs *)base)->root, name); }
static void v_dl_error(sqlite3_vfs *base, int size, char *out) { ((faultvfs *)base)->root->xDlError(((faultvfs *)base)->root, size, out); }
static void (*v_dl_sym(sqlite3_vfs *base, void *library, const char *symbol))(void) {
    return ((faultvfs *)base)->root->xDlSym(((faultvfs *)base)->root, library, symbol);
}
static void v_dl_close(sqlite3_vfs *base, void *library) { ((faultvfs *)base)->root->xDlClose(((faultvfs *)base)->root, library); }
static int v_randomness(sqlite3_vfs *base, int size, char *out) { return ((faultvfs *)base)->root->xRandomness(((faultvfs *)base)->root, size, out); }
static int v_sleep(sqlite3_vfs *base, int microseconds) { return ((faultvfs *)base)->root->xSleep(((faultvfs *)base)->root, microseconds); }
static int v_current_time(sqlite3_vfs *base, double *out) { return ((faultvfs *)base)->root->xCurrentTime(((faultvfs *)base)->root, out); }
static int v_get_last_error(sqlite3_vfs *base, int size, char *out) { return ((faultvfs *)base)->root->xGetLastError(((faultvfs *)base)->root, size, out); }
static int v_current_time_int64(sqlite3_vfs *base, sqlite3_int64 *out) {
    return ((faultvfs *)base)->root->xCurrentTimeInt64(((faultvfs *)base)->root, out);
}

faultvfs *faultvfs_create(const char *name, uint64_t seed) {
    sqlite3_vfs *root = sqlite3_vfs_find(NULL);
    if (!root) return NULL;
    faultvfs *vfs = calloc(1, sizeof(faultvfs));
    if (!vfs) return NULL;
    vfs->root = root;
    vfs->name = strdup(name);
    vfs->chance_state = seed;
    vfs->base.iVersion = 2;
    vfs->base.szOsFile = (int)sizeof(ffile) + root->szOsFile;
    vfs->base.mxPathname = root->mxPathname;
    vfs->base.zName = vfs->name;
    vfs->base.xOpen = v_open;
    vfs->base.xDelete = v_delete;
    vfs->base.xAccess = v_access;
    vfs->base.xFullPathname = v_full_pathname;
    vfs->base.xDlOpen = v_dl_open;
    vfs->base.xDlError = v_dl_error;
    vfs->base.xDlSym = v_dl_sym;
    vfs->base.xDlClose = v_dl_close;
    vfs->base.xRandomness = v_randomness;
    vfs->base.xSleep = v_sleep;
    vfs->base.xCurrentTime = v_current_time;
    vfs->base.xGetLastError = v_get_last_error;
    vfs->base.xCurrentTimeInt64 = v_current_time_int64;
    if (sqlite3_vfs_register(&vfs->base, 0) != SQLITE_OK) {
        free(vfs->name);
        free(vfs);
        return NULL;
    }
    return vfs;
}

void faultvfs_destroy(faultvfs *vfs) {
    if (!vfs) return;
    sqlite3_vfs_unregister(&vfs->base);
    forget_pending(vfs, NULL);
    free(vfs->pending);
    free(vfs->name);
    free(vfs);
}

void faultvfs_set_rates(faultvfs *vfs, faultvfs_rates rates) { vfs->rates = rates; }

void faultvfs_power_cut(faultvfs *vfs, int torn) {
    vfs->counts.power_cuts++;
    int count = vfs->pending_count;
    /* Writes before `cut` reached the platter; the one at `cut` may be torn; the rest are lost. */
    int cut = count == 0 ? 0 : (int)(next_random(vfs) % (uint64_t)(count + 1));
    for (int i = count - 1; i > cut; i--) {
        undo_write(&vfs->pending[i], 0);
        vfs->counts.dropped_writes++;
    }
    if (cut < count) {
        pending_write *entry = &vfs->pending[cut];
        int sectors = entry->length / 512;
        if (torn && sectors > 1) {
            int kept = 1 + (int)(next_random(vfs) % (uint64_t)(sectors - 1));
            undo_write(entry, kept * 512);
            vfs->counts.torn_writes++;
        } else {
            undo_write(entry, 0);
            vfs->counts.dropped_writes++;
        }
    }
    forget_pending(vfs, NULL);
    vfs->dead = 1;
}

void faultvfs_crash(faultvfs *vfs) {
    forget_pending(vfs, NULL);
    vfs->dead = 1;
}

void faultvfs_revive(faultvfs *vfs) { vfs->dead = 0; }

faultvfs_counts faultvfs_get_counts(const faultvfs *vfs) { return vfs->counts; }

void faultvfs_fail_nth(faultvfs *vfs, faultvfs_operation operation, int nth, faultvfs_failure failure) {
    vfs->countdown[operation] = nth;
    vfs->planned[operation] = failure;
}
