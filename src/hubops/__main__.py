from hubops.cli import main

main()
