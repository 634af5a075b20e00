from tests.e2e.vk_fixtures import *  # noqa: F403
