"""Surface vocabularies: the words, templates, clients and id formats traffic is dressed in.

Two vocabularies share no template wording, topic, user agent, model name or id format, so a
detector tested on both cannot lean on any of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    name: str
    subjects: tuple[str, ...]
    aspects: tuple[str, ...]
    extraction_templates: tuple[str, ...]          # slots: {topic} {aspect} {k}
    reasoning_suffixes: tuple[str, ...]
    format_suffixes: tuple[str, ...]
    paraphrase_openers: tuple[str, ...]            # mimicry: human-sounding wrappers
    casual_openers: tuple[str, ...]
    casual_things: tuple[str, ...]
    dev_prompts: tuple[str, ...]
    agent_prompts: tuple[str, ...]
    integration_template: str                      # slot: {message}
    customer_phrases: tuple[str, ...]
    customer_objects: tuple[str, ...]
    batch_template: str                            # slot: {item}
    benchmark_suffix: str
    benchmark_stems: tuple[str, ...]
    app_prompts: tuple[str, ...]                   # reseller downstream ordinary app traffic
    browsers: tuple[str, ...]
    sdks: tuple[str, ...]
    scripts: tuple[str, ...]
    models: tuple[str, ...]                        # last = newest, most capable
    webmail: tuple[str, ...]
    company_domains: tuple[str, ...]
    shady_domains: tuple[str, ...]
    account_id: str                                # format with {n} and {h}
    key_id: str
    event_id: str


DEFAULT = Vocabulary(
    name="default",
    subjects=("photosynthesis", "black holes", "the french revolution", "supply and demand", "neural networks", "plate tectonics",
              "the immune system", "quantum entanglement", "roman law", "compound interest", "protein folding", "game theory",
              "ocean currents", "the printing press", "graph algorithms", "thermodynamics", "baroque music", "climate feedback",
              "cryptography", "linear algebra", "the silk road", "volcanoes", "vaccines", "monetary policy", "relativity",
              "evolution", "poetry meter", "bridge design", "sorting algorithms", "enzymes", "the cold war", "probability",
              "sleep cycles", "glaciers", "jazz harmony", "tax law", "organic chemistry", "rocket propulsion", "ethics", "urban planning"),
    aspects=("history", "core mechanism", "common misconceptions", "mathematical model", "real-world applications", "open problems",
             "key experiments", "edge cases", "comparison with alternatives", "first principles", "failure modes", "teaching analogies",
             "quantitative example", "worked exam problem", "policy implications", "recent advances", "formal definition",
             "limitations", "counterarguments", "step-by-step derivation", "everyday examples", "ethical questions", "vocabulary",
             "common exam traps", "expert-level nuances"),
    extraction_templates=("Explain the {aspect} of {topic} in depth (item {k}).", "Write a detailed tutorial on {topic}: {aspect}. Case {k}.",
                          "Q{k}. Regarding {topic}, describe the {aspect} thoroughly.", "Provide an expert answer about {aspect} in {topic}, variant {k}."),
    reasoning_suffixes=(" Show your reasoning step by step.", " Think step-by-step and show all of your work before the final answer.",
                        " Explain your chain of thought before answering.", " Walk through each intermediate step.",
                        " Give your full reasoning, then the answer."),
    format_suffixes=(" Answer in JSON with keys reasoning and answer.", " Format: Reasoning: ... Final answer: ...", ""),
    paraphrase_openers=("hey, quick one -", "so I was wondering,", "my teacher mentioned this and", "ok random question:",
                        "could you help me understand", "been reading about this,", "sorry if this is basic but", "curious:"),
    casual_openers=("can you help me", "what's a good way to", "how do I", "any tips to", "write me a short note to",
                    "what does it mean to", "give me ideas to", "is it normal to"),
    casual_things=("plan a birthday party", "fix a leaky tap", "cook rice without a cooker", "train for a 10k", "write a cover letter",
                   "learn spanish", "save money on groceries", "deal with a noisy neighbour", "choose a laptop", "grow tomatoes",
                   "stop procrastinating", "apologise to a friend", "understand my electricity bill", "pick a book club novel",
                   "care for a puppy", "make cold brew", "organise my closet", "prepare for an interview", "name my cat", "fold a fitted sheet"),
    dev_prompts=("write a python function that reverses a linked list", "why does this regex not match newlines", "convert this curl to requests",
                 "test prompt please ignore", "hello world", "return the string OK", "fix the off-by-one error in my loop",
                 "explain this stack trace", "generate a SQL query joining orders and customers", "summarise this README"),
    agent_prompts=("run the test suite and fix failures", "refactor the module to use dependency injection", "add type hints to utils.py",
                   "find why the build is failing", "implement the missing endpoint", "update the changelog", "read the file and continue"),
    integration_template="You are the assistant of an online shop. Customer message: \"{message}\". Reply helpfully and briefly.",
    customer_phrases=("where is my order", "I want to return", "my package arrived damaged with", "how do I change the size of",
                      "do you ship to", "can I cancel", "the discount code failed for", "I was charged twice for", "is there a warranty on",
                      "when will you restock"),
    customer_objects=("the blue sneakers", "order 5521", "the kitchen mixer", "my jacket", "the gift card", "the phone case", "the sofa",
                      "the wireless earbuds", "my subscription", "the garden hose", "the desk lamp", "the yoga mat"),
    batch_template="Classify the support ticket into billing, shipping, product or other. Respond only with JSON. Ticket: {item}",
    benchmark_suffix=" Let's think step by step.",
    benchmark_stems=("A train leaves at {a} km/h and another at {b} km/h; when do they meet?", "What is {a} times {b} minus {a}?",
                     "If a shop discounts {a}% then adds {b}% tax, what is the final price factor?", "Sort the numbers {a}, {b}, 7 and 3.",
                     "How many primes are below {a}?"),
    app_prompts=("summarise this email for me", "translate to german: see you tomorrow", "write a product description for a water bottle",
                 "draft a polite reminder to pay an invoice", "suggest five names for a bakery", "rewrite this paragraph more formally",
                 "give me a workout plan for beginners", "what should I cook tonight with eggs and spinach"),
    browsers=("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
              "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
              "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
              "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"),
    sdks=("openai-python/1.54.0", "anthropic-sdk-python/0.40.0", "langchain/0.3.7", "node-fetch/3.3", "llm-sdk-go/0.9.2", "OkHttp/4.12.0"),
    scripts=("python-requests/2.32.3", "aiohttp/3.10.10", "curl/8.5.0", "Go-http-client/2.0", "httpx/0.27.2"),
    models=("model-small", "model-medium", "model-large", "model-large-2"),
    webmail=("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"),
    company_domains=("acme-retail.com", "northwind.io", "globex.com", "initech.dev", "umbrella-health.org", "hooli.ai", "stark-industries.com"),
    shady_domains=("mailbox-7x.net", "fastinbox.xyz", "tmpmail-pro.cc", "inboxkit.top", "quickreg.site", "relay-ai.io", "promptmesh.co"),
    account_id="acct-{n:05d}",
    key_id="key-{h}",
    event_id="{uuid}",
)

ALT = Vocabulary(
    name="alt",
    subjects=("mycology", "medieval shipbuilding", "bayesian inference", "coral reefs", "byzantine art", "distributed consensus",
              "soil microbiology", "opera staging", "actuarial tables", "glassblowing", "semiconductor doping", "beekeeping",
              "tidal energy", "ottoman trade", "knot theory", "fermentation", "aircraft icing", "dialect geography", "wetland ecology",
              "contract bridge", "origami mathematics", "cartography", "viral phylogenetics", "carbon markets", "sumo wrestling",
              "lens grinding", "hydroponics", "sanskrit grammar", "railway signalling", "perfume chemistry", "arctic exploration",
              "bond pricing", "textile dyeing", "auction theory", "seismology", "calligraphy", "cheese aging", "radio astronomy",
              "maritime law", "mosaic tiling"),
    aspects=("origins", "underlying physics", "typical mistakes", "quantitative treatment", "industrial practice", "unsolved puzzles",
             "landmark studies", "boundary conditions", "rival approaches", "axioms", "breakdown scenarios", "analogies for novices",
             "numeric illustration", "olympiad-style problem", "regulatory angle", "latest findings", "rigorous statement",
             "known gaps", "objections", "derivation from scratch", "household illustrations", "moral dimensions", "glossary",
             "grading pitfalls", "specialist subtleties"),
    extraction_templates=("Task #{k}: produce a graduate-level exposition of {topic}, focusing on {aspect}.",
                          "[{k}] Topic={topic}; facet={aspect}. Compose a comprehensive reference answer.",
                          "Draft textbook section {k} covering {aspect} for {topic}.",
                          "As a domain expert on {topic}, elaborate on {aspect} (sample {k})."),
    reasoning_suffixes=(" Lay out every step of your thinking before stating the result.", " Reason it through carefully, showing intermediate steps.",
                        " Before giving the final answer, write out your thought process.", " Derive it from first principles, step by step.",
                        " Work it out loud; include the rationale for each step."),
    format_suffixes=(" Return YAML with fields thought and result.", " Use this structure -> Thinking: ... Result: ...", ""),
    paraphrase_openers=("hmm so", "pardon the naive question, but", "my study group argued about this -", "for a presentation,",
                        "trying to get my head around", "stuck on this one:", "a friend asked me and I blanked:", "genuinely curious -"),
    casual_openers=("help me figure out how to", "best approach to", "what would you do to", "suggestions to", "draft a message to",
                    "explain like I'm five how to", "brainstorm ways to", "should I"),
    casual_things=("repot a cactus", "negotiate rent", "bake sourdough", "pack for a ski trip", "thank my landlord", "read sheet music",
                   "clean a cast-iron pan", "choose running shoes", "host a board game night", "write a wedding toast",
                   "sleep on a plane", "budget for a holiday", "teach my kid chess", "store fresh herbs", "pick a paint colour",
                   "fix squeaky stairs", "start journaling", "learn to juggle", "calm a nervous dog", "remove a wine stain"),
    dev_prompts=("ts error: property does not exist on type never", "ping", "unit test fixture sanity check", "echo the word banana",
                 "dockerfile keeps rebuilding every layer why", "kotlin coroutine vs thread", "rust borrow checker complains here",
                 "turn this json into a typescript interface", "benchmark harness smoke test", "optimise this pandas groupby"),
    agent_prompts=("apply the patch and rerun lint", "search the repo for deprecated calls", "migrate config to toml",
                   "write integration tests for the scheduler", "bump dependencies and fix breakage", "investigate flaky test", "continue"),
    integration_template="[airline-bot] Passenger wrote: <<{message}>> -- answer per policy, two sentences max.",
    customer_phrases=("my flight was delayed and", "can I bring", "seat selection not working for", "refund status for",
                      "I missed my connection in", "baggage lost on", "upgrade options for", "special meal request for", "visa question about",
                      "check-in failed for"),
    customer_objects=("booking QX77", "a surfboard", "my infant", "the lisbon leg", "flight 2210", "two suitcases", "my wheelchair",
                      "the return trip", "gate change", "a pet carrier", "frequent flyer miles", "the night flight"),
    batch_template="Label this invoice line as travel, software, hardware or services and emit a single-line YAML record. Line: {item}",
    benchmark_suffix=" Reason carefully and conclude with 'Answer:'.",
    benchmark_stems=("A tank fills at {a} L/min and drains at {b} L/min; net rate?", "Compute {a} modulo {b}.",
                     "A population grows {a}% yearly for {b} years; growth factor?", "Which is larger, {a}/7 or {b}/9?",
                     "Count the divisors of {a}."),
    app_prompts=("make this tweet funnier", "outline a blog post about remote work", "write alt text for a sunset photo",
                 "polish my LinkedIn headline", "convert this recipe to metric", "generate quiz questions about rivers",
                 "summarise the meeting notes", "propose a slogan for a bike shop"),
    browsers=("Opera/118.0 (Linux) Presto", "Vivaldi/7.0 (Windows) Blink", "Brave/1.73 (macOS) Blink", "SamsungBrowser/27.0 (Android)"),
    sdks=("acme-llm-client/2.3", "ruby-llm/0.8", "dotnet-ai/9.0.1", "swift-llm-kit/1.2", "php-llm/3.1", "elixir-llm/0.4"),
    scripts=("libcurl-agent/7.88", "java-httpclient/21", "rust-reqwest/0.12", "wget/1.21", "powershell-irm/7.4"),
    models=("orca-lite", "orca-standard", "orca-pro", "orca-pro-next"),
    webmail=("fastmail.com", "gmx.de", "zoho.eu", "tutanota.com", "yandex.ru"),
    company_domains=("blueyonder-air.com", "fjord-logistics.no", "keystone-bank.com", "pinecone-labs.ai", "meridian-health.net",
                     "tallgrass-energy.com", "quarry-games.io"),
    shady_domains=("nx-post.biz", "zeromail.one", "burnbox.icu", "cheapreg.buzz", "anonmx.pw", "gatewayllm.net", "tokenhub.shop"),
    account_id="org_{h}",
    key_id="sk_{h}",
    event_id="req_{uuid}",
)

VOCABULARIES = {"default": DEFAULT, "alt": ALT}
