/*
 * run.h - the "vmmkit run" command.
 */
#ifndef VMMKIT_RUN_H
#define VMMKIT_RUN_H

/* Run "vmmkit run" with argv[0] == "run".  Returns the process exit code. */
int vmmkit_run_main(int argc, char **argv);

#endif
