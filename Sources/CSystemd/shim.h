// libsystemd's daemon helpers (apt: libsystemd-dev; pkg-config: libsystemd). Only sd-daemon:
// loomd talks to systemd through the notify socket and socket activation, nothing else.
#include <systemd/sd-daemon.h>
