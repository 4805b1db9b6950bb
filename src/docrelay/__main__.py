from docrelay.cli.main import app

app()
