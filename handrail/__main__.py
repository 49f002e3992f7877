from handrail.cli import main

main()
