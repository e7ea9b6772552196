from billing import interfaces
from contracts.cli import SmartKeyCommand


class Command(SmartKeyCommand):
    help = (
        "Print the product's public interfaces as the code defines them: the import kinds with "
        "their columns and formats, and the export layouts (Markdown, as the README carries it)."
    )

    def handle(self, *args, **options):
        for line in interfaces.document():
            self.stdout.write(line)
