/*  =========================================================================
    zmx_discovery_internal - internal (zmx__) parts of discovery: the
    node actor and its settings, and zmxd's node service.
    =========================================================================
*/
#ifndef ZMX_DISCOVERY_INTERNAL_H_INCLUDED
#define ZMX_DISCOVERY_INTERNAL_H_INCLUDED

#include "zmx_classes.h"

//  -------------------------------------------------------------------------
//  zmx_node: the object (src/discovery/zmx_node.c) collects the settings and starts
//  the actor (src/discovery/zmx_node_actor.c) with them.

//  Actor commands, on the pipe between the object and the actor
#define ZMX__NODE_JOIN              "JOIN"
#define ZMX__NODE_LEAVE             "LEAVE"
#define ZMX__NODE_WHISPER           "WHISPER"
#define ZMX__NODE_SHOUT             "SHOUT"
#define ZMX__NODE_WHISPER_NOWAIT    "WHISPER NOWAIT"    //  As WHISPER, SHOUT: no reply
#define ZMX__NODE_SHOUT_NOWAIT      "SHOUT NOWAIT"
#define ZMX__NODE_PEERS             "PEERS"
#define ZMX__NODE_PEERS_BY_GROUP    "PEERS BY GROUP"
#define ZMX__NODE_PEER_GROUPS       "PEER GROUPS"
#define ZMX__NODE_PEER_NAME         "PEER NAME"
#define ZMX__NODE_PEER_ENDPOINT     "PEER ENDPOINT"
#define ZMX__NODE_PEER_HEADER       "PEER HEADER"
#define ZMX__NODE_STATS             "STATS"

#define ZMX__NODE_ADDRESS_MAX       64      //  An IPv4 address or interface name

//  Everything the settings calls collect, handed to the actor at start.
typedef struct {
    char *name;                     //  Public name
    byte uuid [ZMX_ZRE_UUID_SIZE];  //  Our UUID
    char uuid_str [ZMX_NODE_UUID_STR + 1];
    zhash_t *headers;               //  HELLO headers (autofree)
    zlist_t *groups;                //  Own groups (autofree)
    char *iface;                    //  Interface name or address, or NULL
    int beacon_port;                //  UDP port, 0: no beacons
    int interval;                   //  Beacon interval, msec
    int evasive;                    //  Evasive timeout, msec
    int expired;                    //  Expired timeout, msec
    char *endpoint;                 //  Mailbox bind endpoint, or NULL
    zlist_t *fixed;                 //  Fixed peer endpoints (autofree)
    int max_peers;                  //  Peers tracked at once
    int new_peers_rate;             //  New peers from beacons, per second
    int hello_timeout;              //  Msec for a new peer's HELLO
    int peer_hwm;                   //  DEALER send HWM
    int events_hwm;                 //  Unread events kept
    int64_t max_message;            //  ROUTER ZMQ_MAXMSGSIZE
    zmx_security_t *security;       //  Mailbox policy, or NULL
    char *client_cert;              //  CURVE client certificate, or NULL
    char *server_key;               //  CURVE server key, or NULL
    int linger;                     //  Stop: wait for queued messages, msec
} zmx__node_settings_t;

//  What zmx_node_start gives the actor and gets back from it.
typedef struct {
    zmx__node_settings_t *settings; //  Read until the actor signals
    zsock_t *events;                //  Event backend (given away)
    int rc;                         //  ZMX_OK or the start error
    char endpoint [ZMX_ZRE_MAX_STRING + 1];
    char iface [ZMX__NODE_ADDRESS_MAX];
    char broadcast [ZMX__NODE_ADDRESS_MAX];
    zmx_node_stats_t *final_stats;  //  Written as the actor ends (after linger)
} zmx__node_args_t;

//  zactor body of a node. `args` (a zmx__node_args_t) is read until the
//  actor signals; its settings must outlive the actor.
void
    zmx__node_actor (zsock_t *pipe, void *args);


//  zmxd's "node" service: a ZRE node advertising the services zmxd hosts
//  (src/discovery/zmx_node_service.c; a zmx_service actor, args is a
//  zmx_service_args_t *). zmx_service_lookup ("node") returns it.
void
    zmx__node_service_actor (zsock_t *pipe, void *args);

#endif
