// Debian's libsqlite3 is built with SQLITE_ENABLE_PREUPDATE_HOOK; the header declares the
// pre-update interface only when the same macro is set (RowChangeLog uses it).
#ifndef SQLITE_ENABLE_PREUPDATE_HOOK
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#endif
#include <sqlite3.h>
