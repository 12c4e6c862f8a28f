#include "gm/gm.h"

const char *gm_version(void) { return GM_VERSION_STRING; }
