from interaction_center.cli import main

# Guarded: the storage writer process is spawned, and a spawned child imports this module.
if __name__ == "__main__":
    raise SystemExit(main())
