GREETING = "installed from requirements.txt"
