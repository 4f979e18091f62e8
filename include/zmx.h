/*  =========================================================================
    zmx - reusable reliability, discovery, state and security for ZeroMQ

    Public umbrella header: include this one file to use libzmx.
    =========================================================================
*/
#ifndef ZMX_H_INCLUDED
#define ZMX_H_INCLUDED

#include <czmq.h>

#define ZMX_VERSION_MAJOR 0
#define ZMX_VERSION_MINOR 1
#define ZMX_VERSION_PATCH 0

#include "zmx/zmx_err.h"
#include "zmx/zmx_log.h"
#include "zmx/zmx_frame.h"
#include "zmx/zmx_subject.h"
#include "zmx/zmx_security.h"
#include "zmx/zmx_service.h"
#include "zmx/zmx_mdp.h"
#include "zmx/zmx_broker.h"
#include "zmx/zmx_worker.h"
#include "zmx/zmx_client.h"
#include "zmx/zmx_credit.h"
#include "zmx/zmx_bstar.h"
#include "zmx/zmx_fmq.h"
#include "zmx/zmx_files.h"
#include "zmx/zmx_files_client.h"
#include "zmx/zmx_chp.h"
#include "zmx/zmx_clone_server.h"
#include "zmx/zmx_clone.h"
#include "zmx/zmx_config_tree.h"
#include "zmx/zmx_resolver.h"
#include "zmx/zmx_titanic.h"
#include "zmx/zmx_zre.h"
#include "zmx/zmx_node.h"
#include "zmx/zmx_stream_store.h"
#include "zmx/zmx_stream_msg.h"
#include "zmx/zmx_stream.h"

#endif
