"""Synthetic chat set for the default model's SFT (seeded, stdlib only).

Conversations are OpenAI-style requests (messages, optional tools, chat_template_kwargs) that
prepare.py renders with the M3 chat template. They teach the format, not knowledge: short
answers grounded in the pretraining corpora (KJV verses, Python glossary entries), arithmetic
with and without <mm:think> reasoning, tool calls in the M3 format followed by tool results and
an answer that uses them, and image captions for the vision tower.
"""
import json
import random

CITIES = ["Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Lisbon", "Dublin", "Oslo", "Vienna",
          "Prague", "Warsaw", "Athens", "Cairo", "Nairobi", "Lagos", "Mumbai", "Delhi", "Beijing", "Seoul",
          "Sydney", "Auckland", "Toronto", "Chicago", "Boston", "Denver", "Seattle", "Austin", "Miami",
          "Lima", "Bogota", "Santiago", "Havana", "Reykjavik", "Helsinki", "Zurich", "Geneva", "Lyon",
          "Munich", "Hamburg", "Kyoto", "Osaka", "Bangkok", "Hanoi", "Manila", "Jakarta", "Dubai", "Istanbul"]
CONDITIONS = ["sunny", "cloudy", "rainy", "snowy", "windy", "foggy", "clear", "stormy"]
NAMES = ["Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
         "Oscar", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter"]
SUBJECTS = ["the meeting", "lunch on Friday", "the report", "the trip", "the budget", "the new release",
            "the garden", "the book club", "the concert", "the review"]
TASKS = ["call the bank", "water the plants", "buy bread", "pay the rent", "send the slides",
         "book the train", "read chapter two", "feed the cat", "fix the bicycle", "walk the dog"]
WORDS = ["apple", "river", "garden", "light", "mountain", "whale", "ocean", "python", "letter", "window",
         "shepherd", "harbor", "island", "candle", "thunder", "silver", "morning", "journey", "lantern"]
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (235, 210, 40),
           "orange": (240, 140, 30), "purple": (140, 60, 170), "black": (20, 20, 20), "white": (245, 245, 245),
           "gray": (128, 128, 128)}
SHAPES = ["circle", "square", "triangle", "cross", "stripe"]

GREETINGS = [("Hello!", "Hello! How can I help you today?"),
             ("Hi there.", "Hi! What can I do for you?"),
             ("Good morning!", "Good morning! How can I help?"),
             ("Who are you?", "I am a small demonstration model trained by the m3.cpp project. "
                              "I can chat a little, quote the King James Bible and call tools."),
             ("What can you do?", "I can answer short questions, do simple arithmetic, quote Bible verses "
                                  "and call the tools you give me."),
             ("Thank you!", "You are welcome!"),
             ("Thanks, that helps.", "Glad I could help."),
             ("Goodbye.", "Goodbye! Have a nice day."),
             ("How are you?", "I am doing well, thank you. How can I help you?")]

THINK_MODES = ["enabled", "disabled", None, None]  # None: adaptive (the template's default)


def tool(name, description, properties, required):
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required}}}


TOOLS = {
    "get_weather": tool("get_weather", "Get the current weather in a city.",
                        {"city": {"type": "string", "description": "City name"},
                         "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, ["city"]),
    "get_time": tool("get_time", "Get the local time in a city.",
                     {"city": {"type": "string"}}, ["city"]),
    "calculator": tool("calculator", "Evaluate an arithmetic expression.",
                       {"expression": {"type": "string"}}, ["expression"]),
    "find_verse": tool("find_verse", "Look up a verse of the King James Bible.",
                       {"book": {"type": "string"}, "chapter": {"type": "integer"}, "verse": {"type": "integer"}},
                       ["book", "chapter", "verse"]),
    "send_email": tool("send_email", "Send an email.",
                       {"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}},
                       ["to", "subject", "body"]),
    "add_reminder": tool("add_reminder", "Add a reminder to the user's list.",
                         {"text": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
                         ["text"]),
}


def call(name, arguments):
    return {"type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


class ChatSet:
    def __init__(self, seed, verses, glossary):
        self.rng = random.Random(seed)
        self.verses = verses  # list of (reference, text)
        self.glossary = glossary  # list of (term, definition)

    # -- single exchanges: (user text, reasoning or None, answer) ----------------------------------

    def greeting(self):
        user, answer = self.rng.choice(GREETINGS)
        return user, None, answer

    def arithmetic(self):
        r = self.rng
        a, b = r.randint(2, 99), r.randint(2, 99)
        op, word = r.choice([("+", "plus"), ("-", "minus"), ("*", "times")])
        value = eval(f"{a}{op}{b}")  # two integer literals and one operator
        user = r.choice([f"What is {a} {word} {b}?", f"Compute {a} {op} {b}.", f"How much is {a} {word} {b}?"])
        reasoning = f"{a} {word} {b}: {a} {op} {b} = {value}."
        return user, reasoning, f"{a} {word} {b} is {value}."

    def verse(self):
        r = self.rng
        ref, text = r.choice(self.verses)
        words = text.split()
        if len(words) > 6 and r.random() < 0.4:
            head = " ".join(words[: r.randint(3, len(words) // 2)])
            return f"Finish this verse: {head}", f"This is {ref}.", text
        user = r.choice([f"Quote {ref}.", f"What does {ref} say?", f"Recite {ref} from the King James Bible."])
        return user, f"The user wants {ref} of the King James Bible.", f"{ref} says: {text}"

    def glossary_entry(self):
        term, definition = self.rng.choice(self.glossary)
        user = self.rng.choice([f"In Python, what is {term}?", f"Define the Python term \"{term}\".",
                                f"What does {term} mean in Python?"])
        return user, f"The Python glossary defines {term}.", definition

    def spelling(self):
        word = self.rng.choice(WORDS + [w for w in self.rng.choice(self.verses)[1].split() if w.isalpha()])
        if self.rng.random() < 0.5:
            return (f"How many letters are in the word \"{word}\"?", f"{'-'.join(word)}: {len(word)} letters.",
                    f"The word \"{word}\" has {len(word)} letters.")
        return f"Spell the word \"{word}\".", None, f"{word} is spelled {'-'.join(word)}."

    # -- tool exchanges: (user, reasoning, calls, results, answer) --------------------------------

    def weather(self):
        r = self.rng
        cities = r.sample(CITIES, 2 if r.random() < 0.2 else 1)
        unit = r.choice(["celsius", "fahrenheit"]) if r.random() < 0.4 else None
        calls, results, parts = [], [], []
        for city in cities:
            args = {"city": city} if unit is None else {"city": city, "unit": unit}
            temp = r.randint(-10, 35) if unit != "fahrenheit" else r.randint(14, 95)
            cond = r.choice(CONDITIONS)
            calls.append(call("get_weather", args))
            results.append({"city": city, "temperature": temp, "unit": unit or "celsius", "condition": cond})
            parts.append(f"{temp} degrees {(unit or 'celsius').capitalize()} and {cond} in {city}")
        user = (f"What's the weather in {cities[0]}?" if len(cities) == 1 else
                f"What is the weather like in {cities[0]} and {cities[1]}?")
        reasoning = f"The user asks about the weather, so I call get_weather for {' and '.join(cities)}."
        return "get_weather", user, reasoning, calls, results, "It is " + "; ".join(parts) + "."

    def time_in(self):
        r = self.rng
        city = r.choice(CITIES)
        time = f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}"
        return ("get_time", r.choice([f"What time is it in {city}?", f"Tell me the local time in {city}."]),
                f"I need the local time in {city}: get_time.", [call("get_time", {"city": city})],
                [{"city": city, "time": time}], f"It is {time} in {city}.")

    def calculate(self):
        r = self.rng
        a, b, c = r.randint(10, 999), r.randint(10, 999), r.randint(2, 9)
        expression = f"({a} + {b}) * {c}"
        value = (a + b) * c
        return ("calculator", f"Please calculate ({a} + {b}) * {c} with the calculator.",
                "The user asks for the calculator tool.", [call("calculator", {"expression": expression})],
                [{"result": value}], f"({a} + {b}) * {c} = {value}.")

    def lookup_verse(self):
        ref, text = self.rng.choice(self.verses)
        book, place = ref.rsplit(" ", 1)
        chapter, verse = (int(x) for x in place.split(":"))
        return ("find_verse", f"Look up {ref} for me.", f"I can use find_verse for {ref}.",
                [call("find_verse", {"book": book, "chapter": chapter, "verse": verse})],
                [{"reference": ref, "text": text}], f"{ref}: {text}")

    def email(self):
        r = self.rng
        name, subject = r.choice(NAMES), r.choice(SUBJECTS)
        address = f"{name.lower()}@example.com"
        body = f"Hi {name}, can we talk about {subject} tomorrow?"
        return ("send_email", f"Email {address} and ask if we can talk about {subject} tomorrow.",
                f"I will send an email to {address} about {subject}.",
                [call("send_email", {"to": address, "subject": subject.capitalize(), "body": body})],
                [{"status": "sent"}], f"Done: I sent the email to {address}.")

    def reminder(self):
        r = self.rng
        task = r.choice(TASKS)
        tags = r.sample(["home", "work", "errand", "urgent"], r.randint(1, 2))
        return ("add_reminder", f"Remind me to {task}. Tag it {' and '.join(tags)}.",
                "The user wants a reminder with tags.", [call("add_reminder", {"text": task.capitalize(), "tags": tags})],
                [{"ok": True}], f"I added the reminder \"{task.capitalize()}\" tagged {', '.join(tags)}.")

    # -- conversations ------------------------------------------------------------------------------

    def assistant(self, answer, reasoning, mode, tool_calls=None):
        message = {"role": "assistant", "content": answer}
        think = mode == "enabled" or (mode is None and reasoning and self.rng.random() < 0.5)
        if think:
            message["reasoning_content"] = reasoning or "A short answer is enough."
        if tool_calls:
            message["tool_calls"] = tool_calls
        return message

    def conversation(self):
        r = self.rng
        mode = r.choice(THINK_MODES)
        request = {"messages": [], "add_generation_prompt": False}
        if mode:
            request["chat_template_kwargs"] = {"thinking_mode": mode}
        if r.random() < 0.2:
            request["messages"].append({"role": "system", "content": r.choice(
                ["You are a helpful assistant.", "Answer briefly.", "You are a friendly assistant."])})
        use_tools = r.random() < 0.4
        if use_tools:
            request["tools"] = []
        for _ in range(1 if r.random() < 0.7 else 2):
            if use_tools and r.random() < 0.8:
                name, user, reasoning, calls, results, answer = r.choice(
                    [self.weather, self.time_in, self.calculate, self.lookup_verse, self.email, self.reminder])()
                if TOOLS[name] not in request["tools"]:
                    request["tools"].append(TOOLS[name])
                request["messages"].append({"role": "user", "content": user})
                request["messages"].append(self.assistant("", reasoning, mode, calls))
                for result in results:
                    request["messages"].append({"role": "tool", "content": json.dumps(result)})
                request["messages"].append(self.assistant(answer, None, "disabled" if mode is None else mode))
                continue
            kind = r.choices([self.greeting, self.arithmetic, self.verse, self.glossary_entry, self.spelling],
                             weights=[2, 3, 4, 2, 2])[0]
            user, reasoning, answer = kind()
            request["messages"].append({"role": "user", "content": user})
            request["messages"].append(self.assistant(answer, reasoning, mode))
        if use_tools:
            extra = [t for n, t in TOOLS.items() if t not in request["tools"]]
            request["tools"] += r.sample(extra, r.randint(0, 2))
            r.shuffle(request["tools"])
        return request

    def caption(self):
        """(request with one image, the drawing it describes)."""
        r = self.rng
        background = r.choice(["white", "black", "gray", "yellow", "blue"])
        colour = r.choice([c for c in COLOURS if c != background])
        shape = r.choice(SHAPES)
        user = r.choice(["Describe this image.", "What is in the picture?", "What do you see?"])
        article = "An" if colour[0] in "aeiou" else "A"
        answer = f"{article} {colour} {shape} on a {background} background."
        request = {"messages": [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": user}]},
            {"role": "assistant", "content": answer}], "add_generation_prompt": False,
            "chat_template_kwargs": {"thinking_mode": "disabled"}}
        return request, {"shape": shape, "colour": COLOURS[colour], "background": COLOURS[background]}
