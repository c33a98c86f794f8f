"""TensorBoard from the project's own environment: `bazel run //:tensorboard -- --logdir=runs`.

Serves on 127.0.0.1 (this machine only) port 6006 unless --host / --port say otherwise; a relative
--logdir resolves against the folder `bazel run` was started in. Other flags go to TensorBoard
as they are (e.g. --reload_interval=5). Named tensorboard_main.py, not tensorboard.py, so that it
does not shadow the tensorboard package it starts.
"""

import contextlib
import errno
import io
import os
import socket
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from programs import cli  # noqa: E402

DEFAULT_LOGDIR = "runs"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6006


def tensorboard_argv(argv):
    """TensorBoard's own argv for our argv (without the program name); cli.UsageError if unusable."""
    parser = cli.ArgumentParser(prog="bazel run //:tensorboard --", description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default=DEFAULT_LOGDIR,
                        help="folder of runs (or one run); relative: where `bazel run` was started")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to serve on (default 6006; 0: any free port)")
    args, rest = parser.parse_known_args(argv)
    logdir = cli.user_path(args.logdir)
    if not os.path.isdir(logdir):
        raise cli.UsageError("--logdir {} does not exist; train first (bazel run //:run) or point --logdir "
                             "at a folder of runs".format(logdir))
    if not 0 <= args.port <= 65535:
        raise cli.UsageError("--port {} is not a port number (0 to 65535)".format(args.port))
    host = [] if "--bind_all" in rest else ["--host", args.host]
    return ["tensorboard", "--logdir", logdir, "--port", str(args.port)] + host + rest


def check_port_free(tb_argv):
    """cli.UsageError if the port asked for is taken: said before TensorBoard's start-up noise, not after it."""
    port = int(tb_argv[tb_argv.index("--port") + 1])
    host = tb_argv[tb_argv.index("--host") + 1] if "--host" in tb_argv else "0.0.0.0"
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as TensorBoard's server binds
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise cli.UsageError("port {} is in use (another TensorBoard?); stop it, or pass --port=N, or "
                                     "--port=0 for any free port".format(port))
            # Anything else (an unknown --host, say) is TensorBoard's to report.


def main(argv=None):
    try:
        tb_argv = tensorboard_argv(sys.argv[1:] if argv is None else argv)
        check_port_free(tb_argv)
    except cli.UsageError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    # Imported only now: a mistyped flag answers at once, without loading TensorBoard's plugins.
    from machine import quiet
    quiet.import_tensorflow()  # TensorBoard loads it: without its start-up notes that are not about this run
    from tensorboard import default
    from tensorboard import main_lib
    from tensorboard import program
    from tensorboard.plugins import base_plugin

    main_lib.global_init()
    board = program.TensorBoard(plugins=default.get_plugins())
    refusal = io.StringIO()  # what TensorBoard's own argparse says when it refuses an argument
    try:
        with contextlib.redirect_stderr(refusal):
            board.configure(argv=tb_argv)
    except base_plugin.FlagsError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    except SystemExit:
        # Its usage text, then `tensorboard: error: ...` (e.g. an extra argument): that last line alone.
        lines = refusal.getvalue().strip().splitlines() or ["TensorBoard refused its arguments"]
        print("error: {}; see --help".format(lines[-1].replace("tensorboard: error: ", "")), file=sys.stderr)
        return 1
    sys.stderr.write(refusal.getvalue())  # anything else it said, as it said it
    print("Serving {} (Ctrl+C to stop)".format(tb_argv[2]), flush=True)
    return 0 if board.main() == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
