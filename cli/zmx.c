/*  =========================================================================
    zmx - the zmx command-line tool

    `zmx COMMAND [ARGS]`: finds the subcommand in a table and hands it the
    rest of the arguments. Each subcommand lives in cli/zmx_cmd_NAME.c and
    returns an exit code from cli/zmx_cli.h (see docs/CLI.md).
    =========================================================================
*/
#include "zmx_cli.h"

static int s_help (int argc, char *argv []);
static int s_version (int argc, char *argv []);
static void s_help_usage (FILE *stream);
static void s_version_usage (FILE *stream);

static const zmx_cli_command_t s_commands [] = {
    { "call", zmx_cli_call, zmx_cli_call_usage, "send a request to a service, print the reply" },
    { "worker", zmx_cli_worker, zmx_cli_worker_usage, "serve a service (echo or a command)" },
    { "services", zmx_cli_services, zmx_cli_services_usage, "list a broker's services" },
    { "files", zmx_cli_files, zmx_cli_files_usage, "serve, mirror or list files (FILEMQ)" },
    { "peers", zmx_cli_peers, zmx_cli_peers_usage, "show ZRE peers as they come and go" },
    { "shout", zmx_cli_shout, zmx_cli_shout_usage, "send a message to a ZRE group" },
    { "whisper", zmx_cli_whisper, zmx_cli_whisper_usage, "send a message to one ZRE peer" },
    { "listen", zmx_cli_listen, zmx_cli_listen_usage, "join ZRE groups, print messages" },
    { "config", zmx_cli_config, zmx_cli_config_usage, "set, get, watch, load or dump configuration" },
    { "names", zmx_cli_names, zmx_cli_names_usage, "register, resolve or watch logical names" },
    { "log", zmx_cli_log, zmx_cli_log_usage, "send records to a stream, or tail one" },
    { "streams", zmx_cli_streams, zmx_cli_streams_usage, "list, delete or purge streams" },
    { "console", zmx_cli_console, zmx_cli_console_usage, "a live error console for zmxd's log" },
    { "keygen", zmx_cli_keygen, zmx_cli_keygen_usage, "create a CURVE certificate pair" },
    { "version", s_version, s_version_usage, "print the version" },
    { "help", s_help, s_help_usage, "show help for zmx or a command" },
};

#define S_COMMAND_COUNT (sizeof s_commands / sizeof s_commands [0])

static const zmx_cli_command_t *
s_command_lookup (const char *name)
{
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        if (streq (name, s_commands [index].name))
            return &s_commands [index];
    return NULL;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream, "usage: zmx COMMAND [ARGS]\n"
                     "       zmx -h|--help, zmx -V|--version\n\ncommands:\n");
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        fprintf (stream, "  %-10s %s\n", s_commands [index].name, s_commands [index].summary);
    fprintf (stream,
        "\n`zmx COMMAND --help` shows a command's options. The broker endpoint\n"
        "defaults to $%s, else %s. --zmxd HOST[:BASE] (or\n"
        "$ZMX_ZMXD) points every command at one zmxd: each service at BASE\n"
        "plus its offset in the default layout (docs/CLI.md).\n"
        "Exit codes: 0 ok, 1 error, 2 usage, 3 timeout, 4 unknown service,\n"
        "5 security (bad key or certificate), 6 a host name that does not\n"
        "resolve. See docs/CLI.md.\n",
        ZMX_CLI_ENV_BROKER, ZMX_BROKER_DEFAULT_ENDPOINT);
}

static void
s_help_usage (FILE *stream)
{
    fprintf (stream, "usage: zmx help [COMMAND]\n");
}

static void
s_version_usage (FILE *stream)
{
    fprintf (stream, "usage: zmx version (also zmx -V, zmx --version)\n");
}

static int
s_help (int argc, char *argv [])
{
    if (argc < 2) {
        s_usage (stdout);
        return ZMX_EXIT_OK;
    }
    if (streq (argv [1], "--help") || streq (argv [1], "-h")) {
        s_help_usage (stdout);
        return ZMX_EXIT_OK;
    }
    const zmx_cli_command_t *command = s_command_lookup (argv [1]);
    if (!command) {
        fprintf (stderr, "zmx: unknown command '%s'\n", argv [1]);
        s_usage (stderr);
        return ZMX_EXIT_USAGE;
    }
    command->usage (stdout);
    return ZMX_EXIT_OK;
}

static int
s_version (int argc, char *argv [])
{
    if (argc > 1 && !streq (argv [1], "--help") && !streq (argv [1], "-h"))
        return zmx_cli_usage_error (s_version_usage, "version takes no arguments, not '%s'",
                                    argv [1]);
    if (argc > 1) {
        s_version_usage (stdout);
        return ZMX_EXIT_OK;
    }
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    printf ("zmx %d.%d.%d (libzmq %d.%d.%d, czmq %d.%d.%d)\n", ZMX_VERSION_MAJOR,
            ZMX_VERSION_MINOR, ZMX_VERSION_PATCH, major, minor, patch,
            CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH);
    return ZMX_EXIT_OK;
}

int
main (int argc, char *argv [])
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        s_usage (stderr);
        return ZMX_EXIT_USAGE;
    }
    if (streq (argv [1], "--help") || streq (argv [1], "-h"))
        return s_help (1, argv);
    if (streq (argv [1], "--version") || streq (argv [1], "-V"))
        return s_version (1, argv);
    const zmx_cli_command_t *command = s_command_lookup (argv [1]);
    if (!command) {
        fprintf (stderr, "zmx: unknown command '%s'\n", argv [1]);
        s_usage (stderr);
        return ZMX_EXIT_USAGE;
    }
    //  Help and version work whatever the environment says
    if (command->run != s_help && command->run != s_version && zmx_cli_zmxd_setup ())
        return ZMX_EXIT_USAGE;
    //  getopt prefixes its messages with argv [0]: make it "zmx NAME"
    char name [64];
    snprintf (name, sizeof name, "zmx %s", command->name);
    argv [1] = name;
    return command->run (argc - 1, argv + 1);
}
