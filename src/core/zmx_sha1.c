/*  =========================================================================
    zmx_sha1 - running SHA-1 digest as lowercase hex (internal)

    Design notes
    - A thin layer over libcrypto's EVP digest API, which picks the CPU's
      SHA instructions when it has them: about four times the rate of the
      portable C digest in CZMQ, and the files service hashes every byte
      it serves and receives.
    - The hex form is the one FILEMQ peers exchange in the SHA1 header:
      40 lowercase hex digits.
    =========================================================================
*/
#include "zmx_classes.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>

struct _zmx__sha1_t {
    EVP_MD_CTX *context;        //  libcrypto state
    char hex [41];              //  Result, once final
    bool final;                 //  No more updates once the hex is taken
};

zmx__sha1_t *
zmx__sha1_new (void)
{
    zmx__sha1_t *self = (zmx__sha1_t *) zmalloc (sizeof (zmx__sha1_t));
    self->context = EVP_MD_CTX_new ();
    if (!self->context || EVP_DigestInit_ex (self->context, EVP_sha1 (), NULL) != 1) {
        zmx__sha1_destroy (&self);
        return NULL;
    }
    return self;
}

void
zmx__sha1_destroy (zmx__sha1_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        EVP_MD_CTX_free ((*self_p)->context);
        free (*self_p);
        *self_p = NULL;
    }
}

void
zmx__sha1_update (zmx__sha1_t *self, const void *data, size_t size)
{
    assert (self);
    assert (!self->final);
    if (size) {
        int rc = EVP_DigestUpdate (self->context, data, size);
        assert (rc == 1);       //  Only fails on a misused context
        (void) rc;
    }
}

const char *
zmx__sha1_hex (zmx__sha1_t *self)
{
    assert (self);
    if (!self->final) {
        unsigned char digest [EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        int rc = EVP_DigestFinal_ex (self->context, digest, &size);
        assert (rc == 1 && size == 20);
        (void) rc;
        for (unsigned int index = 0; index < size; index++)
            snprintf (self->hex + 2 * index, 3, "%02x", digest [index]);
        self->final = true;
    }
    return self->hex;
}

//  libcrypto keeps per-thread state, freed by a thread-exit handler. An
//  actor's thread is still exiting when zactor_destroy returns, so a
//  process that ends right after could exit with that state still
//  allocated (LeakSanitizer reports it): free it before the actor returns.
void
zmx__sha1_thread_end (void)
{
    OPENSSL_thread_stop ();
}

void
zmx__sha1_string (const void *data, size_t size, char *hex)
{
    assert (hex);
    zmx__sha1_t *self = zmx__sha1_new ();
    assert (self);
    zmx__sha1_update (self, data, size);
    memcpy (hex, zmx__sha1_hex (self), 41);
    zmx__sha1_destroy (&self);
}
