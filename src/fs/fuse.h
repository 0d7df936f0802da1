// libfuse's low-level API, at the one version this filesystem is written for.
#pragma once

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
