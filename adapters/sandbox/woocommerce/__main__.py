"""`python -m adapters.sandbox.woocommerce --port P …`: serve a sandbox WooCommerce store."""

import sys

from .cli import main

sys.exit(main())
