from interaction_center.cli import main

raise SystemExit(main())
