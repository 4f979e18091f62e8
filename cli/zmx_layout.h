/*  =========================================================================
    zmx_layout - zmxd's default port layout, shared by zmxd and zmx

    Every port zmxd's built-in config binds, as an offset from the broker's
    port (the base). Moving zmxd is then one number: `zmxd --base-port N`
    (or zmxd/base-port) binds every service at N + its offset, and
    `zmx --zmxd HOST:N` (or $ZMX_ZMXD) finds every service there. The ports
    are those of ZMX_BROKER_DEFAULT_ENDPOINT, ZMX_RESOLVER_DEFAULT_SERVER,
    ZMX_FILES_DEFAULT_ENDPOINT, ZMX_NODE_BEACON_PORT and the clone
    publisher and collector after the snapshot port (docs/CLI.md).
    =========================================================================
*/
#ifndef ZMX_LAYOUT_H_INCLUDED
#define ZMX_LAYOUT_H_INCLUDED

#define ZMX_LAYOUT_BASE         5555    //  The broker's port is the base

typedef enum {
    ZMX_LAYOUT_BROKER,          //  MDP, MMI and Titanic
    ZMX_LAYOUT_CLONE,           //  Clone snapshot (ZMX_CLONE)
    ZMX_LAYOUT_PUBLISHER,       //  Clone updates
    ZMX_LAYOUT_COLLECTOR,       //  Clone collector
    ZMX_LAYOUT_RESOLVER,        //  Name resolver, tcp
    ZMX_LAYOUT_LOG_INGEST,      //  Log ingest (plain PUB in)
    ZMX_LAYOUT_LOG_STREAMS,     //  Streams protocol (ZMXS1)
    ZMX_LAYOUT_FILES,           //  FILEMQ
    ZMX_LAYOUT_BEACON,          //  ZRE beacons, udp
    ZMX_LAYOUT_COUNT
} zmx_layout_port_t;

//  The default port of each entry, in the order of zmx_layout_port_t
static const int zmx_layout_ports [ZMX_LAYOUT_COUNT] = {
    5555, 5556, 5557, 5558, 5559, 5560, 5561, 5670, 5670
};

//  The port of `which` when the base is `base`.
static inline int
zmx_layout_port (zmx_layout_port_t which, int base)
{
    return base + zmx_layout_ports [which] - ZMX_LAYOUT_BASE;
}

//  The highest base that keeps every port within 65535.
#define ZMX_LAYOUT_BASE_MAX     (65535 - (5670 - ZMX_LAYOUT_BASE))

#endif
