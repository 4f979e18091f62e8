/*  =========================================================================
    zmx keygen - create a CURVE certificate pair

    `zmx keygen NAME` writes NAME.cert (public, safe to hand out) and
    NAME.cert_secret (mode 0600), the pair zmx_security reads: a server
    names NAME.cert in security/certificate, a client passes it to
    --curve-cert.
    =========================================================================
*/
#include "zmx_cli.h"
#include <libgen.h>

#define S_CONTINUE -1           //  s_parse: arguments fine, go on

void
zmx_cli_keygen_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx keygen NAME\n"
        "\n"
        "Write a new CURVE key pair: NAME.cert (public certificate) and\n"
        "NAME.cert_secret (secret certificate, mode 0600), and print the public\n"
        "key. NAME may include a directory. Existing files are never replaced:\n"
        "peers holding the old public key would be locked out.\n");
}

static int
s_parse (int argc, char *argv [], const char **name)
{
    static const struct option longopts [] = {
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        if (option == ZMX_CLI_OPT_HELP) {
            zmx_cli_keygen_usage (stdout);
            return ZMX_EXIT_OK;
        }
        else {
            zmx_cli_keygen_usage (stderr);
            return ZMX_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return zmx_cli_usage_error (zmx_cli_keygen_usage, "keygen needs exactly one NAME");
    *name = argv [optind];
    if (!**name)
        return zmx_cli_usage_error (zmx_cli_keygen_usage, "NAME is empty");
    return S_CONTINUE;
}

//  Print the files written and the public key read back from them.
static int
s_report (const char *path, const char *secret_path)
{
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        fprintf (stderr, "zmx: wrote %s but cannot read it back\n", path);
        return ZMX_EXIT_ERROR;
    }
    printf ("public certificate: %s\n", path);
    printf ("secret certificate: %s (keep it private)\n", secret_path);
    printf ("public key: %s\n", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return ZMX_EXIT_OK;
}

int
zmx_cli_keygen (int argc, char *argv [])
{
    const char *name = NULL;
    int rc = s_parse (argc, argv, &name);
    if (rc != S_CONTINUE)
        return rc;
    char *path = zsys_sprintf ("%s.cert", name);
    char *secret_path = zsys_sprintf ("%s_secret", path);
    char *base_copy = strdup (name);
    if (zsys_file_exists (path) || zsys_file_exists (secret_path)) {
        fprintf (stderr, "zmx: %s or %s exists: choose another NAME, or remove both "
                         "to replace the key pair\n", path, secret_path);
        rc = ZMX_EXIT_ERROR;
    }
    else
    if (zmx_security_keygen (path, basename (base_copy)) != ZMX_OK) {
        fprintf (stderr, "zmx: cannot write %s (reason above): check that the directory "
                         "exists and is writable\n", path);
        rc = ZMX_EXIT_ERROR;
    }
    else
        rc = s_report (path, secret_path);
    free (base_copy);
    zstr_free (&path);
    zstr_free (&secret_path);
    return rc;
}
