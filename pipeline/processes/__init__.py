"""What every command shares about its own process: the terminal (`console`), Ctrl-C and
SIGTERM (`interruption`), locks across processes (`locks`), work repeated in a background
thread (`periodic`), and whether another process still runs (`liveness`). Stdlib and psutil
only: no TensorFlow, no MLflow."""
