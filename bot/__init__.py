"""«Навигатор молодого педагога»: the application package (settings, CLI, channels, services, delivery)."""
