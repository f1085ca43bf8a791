from scalelint.cli import main

main()
