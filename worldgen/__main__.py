from worldgen.cli import main

main()
