"""Reading letters: PDF or text -> cleaned lines -> parts -> header, people, citations -> Letter."""
