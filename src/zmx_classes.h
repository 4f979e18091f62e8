/*  =========================================================================
    zmx_classes - private header: every system include, and internal
    (zmx__) helpers shared between library classes.
    =========================================================================
*/
#ifndef ZMX_CLASSES_H_INCLUDED
#define ZMX_CLASSES_H_INCLUDED

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include <czmq.h>

#include "zmx.h"

//  Read an integer config value at `path` below `config`, or `fallback` if
//  absent. Sets *valid to false (leaves it untouched otherwise) if the value
//  is not an integer within [min, max], and logs which key is wrong.
int64_t
    zmx__config_int (zconfig_t *config, const char *path, int64_t fallback,
                     int64_t min, int64_t max, bool *valid);

//  Read a string config value at `path`, or `fallback` if absent.
const char *
    zmx__config_str (zconfig_t *config, const char *path, const char *fallback);

//  True if `endpoint` looks like one ZeroMQ endpoint: "transport://address"
//  with both parts non-empty, only printable ASCII, no spaces and no commas
//  (commas separate endpoints in lists). NULL is not valid.
bool
    zmx__endpoint_valid (const char *endpoint);

//  Check CURVE client arguments as zmx_security_client_curve does, without
//  a socket, and if they are good replace *cert_p and *key_p (freed first)
//  by copies of them. Returns ZMX_OK, or ZMX_ESECURITY leaving both as they
//  were.
int
    zmx__curve_client_store (char **cert_p, char **key_p, const char *client_cert_path,
                             const char *server_key);

#endif
