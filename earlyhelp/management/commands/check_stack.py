import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from earlyhelp.startup import check_database_or_exit


class Command(BaseCommand):
    help = "Check that the database and Redis answer; say in one sentence which does not."

    def handle(self, *args, **options):
        check_database_or_exit()
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError as exc:
            raise CommandError(f"the Redis server at {settings.REDIS_URL} (REDIS_URL) does not answer: {exc}") from None
        self.stdout.write("database and Redis answer")
