/* The floor of a command wrapper, for benchmarks/span.sh: spawn the command, wait for it, exit
 * with its status; nothing else (no span, no export, no environment reading). Built with musl,
 * statically (as static-pie like otelctl's default build, and as a plain static executable):
 *
 *   musl-gcc -O2 -static-pie -o span-floor span-floor.c
 *   span-floor CMD [ARGS...]
 *
 * musl's posix_spawn is a clone(CLONE_VM | CLONE_VFORK) + execve, as otelctl's runner does. */
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
  pid_t pid;
  int status;
  if (argc < 2 || posix_spawnp(&pid, argv[1], 0, 0, argv + 1, environ) != 0) return 127;
  if (waitpid(pid, &status, 0) < 0) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
