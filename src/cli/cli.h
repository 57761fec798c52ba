/* cli: the operator's commands of the `cyberid` binary.
 *
 * Each function is one sub-command: it receives the arguments after the
 * sub-command's name (argv[0] is the sub-command itself), prints its result
 * on stdout (JSON where a program may read it) and its errors on stderr, and
 * returns the process exit status: 0 on success, 1 on a refused operation,
 * 2 on a usage error. None of them calls exit(). */
#ifndef CYBERID_CLI_H
#define CYBERID_CLI_H

int cli_init(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_registry(int argc, char **argv);
int cli_platform(int argc, char **argv);
int cli_face(int argc, char **argv);
int cli_identity(int argc, char **argv);
int cli_keys(int argc, char **argv);
int cli_ca(int argc, char **argv);
int cli_log(int argc, char **argv);
int cli_appeal(int argc, char **argv);

#endif
