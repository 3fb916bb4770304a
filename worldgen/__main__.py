"""`python -m worldgen`: the command line. Guarded so that a worker process started with
multiprocessing's spawn method (which imports the parent's main module) does not run it again."""

from worldgen.cli import main

if __name__ == "__main__":
    main()
