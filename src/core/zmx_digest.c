/*  =========================================================================
    zmx_digest - running XXH3-128 digest as lowercase hex (internal)

    Design notes
    - The files service checks every byte a client receives against a
      digest announced by the server. SHA-1 at about 1.9 GB/s was the
      largest single cost of a transfer; XXH3-128 (libxxhash) runs at
      memory speed. It is not cryptographic: it guards against truncation,
      corruption and mix-ups, while the peer's authenticity comes from
      CURVE and SHA-1 stays the file's identity (see docs/FILES.md).
    - The hex form is the canonical one (high 64 bits first, big-endian),
      the same as `xxh128sum` prints: 32 lowercase hex digits.
    - On x86-64 the update goes through libxxhash's run-time dispatch, so
      that a CPU with AVX2 uses it (nearly twice the rate of SSE2 here).
    =========================================================================
*/
#include "zmx_classes.h"
#include <xxhash.h>
#if defined (__x86_64__)
//  libxxhash's x86 build picks SSE2, AVX2 or AVX-512 at run time through
//  these names; the plain ones are its SSE2 code
#   include <xxh_x86dispatch.h>
#endif

struct _zmx__xxh128_t {
    XXH3_state_t *state;        //  libxxhash state
    char hex [ZMX__XXH128_HEX + 1];     //  Result, once final
    bool final;                 //  No more updates once the hex is taken
};

zmx__xxh128_t *
zmx__xxh128_new (void)
{
    zmx__xxh128_t *self = (zmx__xxh128_t *) zmalloc (sizeof (zmx__xxh128_t));
    self->state = XXH3_createState ();
    if (!self->state || XXH3_128bits_reset (self->state) != XXH_OK)
        zmx__xxh128_destroy (&self);
    return self;
}

void
zmx__xxh128_destroy (zmx__xxh128_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        XXH3_freeState ((*self_p)->state);
        free (*self_p);
        *self_p = NULL;
    }
}

void
zmx__xxh128_update (zmx__xxh128_t *self, const void *data, size_t size)
{
    assert (self);
    assert (!self->final);
    if (size) {
        XXH_errorcode rc = XXH3_128bits_update (self->state, data, size);
        assert (rc == XXH_OK);  //  Only fails on a NULL state
        (void) rc;
    }
}

const char *
zmx__xxh128_hex (zmx__xxh128_t *self)
{
    assert (self);
    if (!self->final) {
        XXH128_canonical_t canonical;
        XXH128_canonicalFromHash (&canonical, XXH3_128bits_digest (self->state));
        for (size_t index = 0; index < sizeof canonical.digest; index++)
            snprintf (self->hex + 2 * index, 3, "%02x", canonical.digest [index]);
        self->final = true;
    }
    return self->hex;
}

bool
zmx__xxh128_hex_valid (const char *hex)
{
    return hex && strlen (hex) == ZMX__XXH128_HEX
        && strspn (hex, "0123456789abcdefABCDEF") == ZMX__XXH128_HEX;
}
