"""Surface vocabularies: the words, templates, clients and id formats traffic is dressed in.

Two vocabularies share no template wording, topic, user agent, model name or id format, so a
detector tested on both cannot lean on any of them. Each vocabulary also carries phrasing sets in
several languages (:data:`PHRASINGS`, :func:`phrasing`): attack prompts, evaluation banks,
translation sources and casual questions in English, Chinese, Japanese, Korean, Russian,
Spanish, German and French, written per vocabulary, again without shared wording.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


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
    shady_domains: tuple[str, ...]                 # attack operators' private or disposable domains (a large space: two rarely share one)
    account_id: str                                # format with {n} and {h}
    key_id: str
    event_id: str
    translation_template: str = ""                 # slots: {target} {text}
    label_template: str = ""                       # slot: {item}: a labelling vendor's fixed JSON instruction
    label_items: tuple[str, ...] = ()               # what a labelling vendor's texts are about
    followups: tuple[str, ...] = ()                 # chat-like lead-ins of a later turn ("thanks. next one:")
    load_tools: tuple[str, ...] = ()                # load-testing clients' user agents
    org_names: tuple[str, ...] = ()                 # company / lab name parts: domains are {a}{b} + org_tld
    org_tld: str = ".com"


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
                        " Give your full reasoning, then the answer.", " Don't skip anything; I need the full working.",
                        " Lay out the intermediate deductions before you conclude."),
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
    shady_domains=("mailbox-7x.net", "fastinbox.xyz", "tmpmail-pro.cc", "inboxkit.top", "quickreg.site", "relay-ai.io", "promptmesh.co",
                   "inbox-drop.io", "regmail.space", "swiftpost.app", "mx-relay.org", "postbin.email", "signup-fast.net",
                   "aibox.dev", "hushbox.link", "mailnow.site", "tempbox.live", "clickreg.online", "ezmail.pro", "dropmail.xyz",
                   "postcat.top", "netinbox.cc", "boxy-mail.co", "rapidreg.info"),
    account_id="acct-{n:05d}",
    key_id="key-{h}",
    event_id="{uuid}",
    translation_template="Translate the text below into {target}. Keep names and formatting unchanged.\n\nText: \"\"\"{text}\"\"\"",
    label_template=("Assign exactly one sentiment label (positive, negative, neutral, mixed) to the customer review and return "
                    "only {{\"label\": <label>, \"confidence\": <0-1>}}. Review: {item}"),
    label_items=("battery life", "delivery speed", "the packaging", "customer service", "the price", "build quality", "the app",
                 "the refund", "sizing", "the colour", "setup instructions", "noise level"),
    followups=("thanks, that helps. next one:", "great. now,", "ok, moving on -", "perfect, and another:", "got it. follow-up question:"),
    load_tools=("k6/0.54.0 (https://k6.io/)", "locust/2.32.2", "Apache-JMeter/5.6.3", "Vegeta/12.12.0", "Artillery/2.0.21"),
    org_names=("bright", "ledger", "north", "silver", "harbor", "cobalt", "maple", "summit", "vertex", "quill", "path", "line",
               "works", "soft", "systems", "data", "logic", "labs", "point", "stack"),
    org_tld=".com",
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
                        " Work it out loud; include the rationale for each step.", " Spell out each inference you make along the way.",
                        " Include the complete derivation, not just the result."),
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
    shady_domains=("nx-post.biz", "zeromail.one", "burnbox.icu", "cheapreg.buzz", "anonmx.pw", "gatewayllm.net", "tokenhub.shop",
                   "fastpost.click", "mx-zero.win", "throwbox.rest", "quickbox.bar", "regpoint.mom", "mailsink.lol",
                   "postlayer.cyou", "anon-in.wtf", "boxrelay.store", "inboxly.fun", "keymail.work", "tmpreg.quest",
                   "sendnull.ink", "mailpit.sbs", "one-off.email", "regzone.bond", "burnpost.rocks"),
    account_id="org_{h}",
    key_id="sk_{h}",
    event_id="req_{uuid}",
    translation_template="<job kind=translate lang={target}>{text}</job>",
    label_template="SCHEMA intent_v3 -> {{intent, urgency}}; emit one compact JSON line, nothing else. INPUT: {item}",
    label_items=("a delayed flight", "lost luggage", "a seat upgrade", "a refund request", "a visa question", "a meal request",
                 "a booking change", "a loyalty points query", "an invoice copy", "a pet on board", "a wheelchair request", "a complaint"),
    followups=("appreciated! follow-up:", "nice. continuing:", "understood; next item ->", "cool, also:", "right, building on that:"),
    load_tools=("Gatling/3.13.1", "hey/0.1.4", "wrk/4.2.0", "ApacheBench/2.3", "loadtest-node/8.0.9"),
    org_names=("fjell", "tundra", "osprey", "kestrel", "basalt", "lumen", "orbit", "zephyr", "arbor", "delta", "forge", "grid",
               "mill", "yard", "wave", "craft", "hive", "nexus", "kin", "sphere"),
    org_tld=".io",
)

VOCABULARIES = {"default": DEFAULT, "alt": ALT}


# -- phrasing sets by language ---------------------------------------------------------------------

#: Languages an account can phrase its prompts in ("en" comes from the vocabulary itself).
LANGUAGES = ("en", "zh", "ja", "ko", "ru", "es", "de", "fr")
#: English names, as a translation product's target field spells them.
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "es": "Spanish",
                  "de": "German", "fr": "French"}
#: Where people writing in a language usually are: UTC offset in hours and a country code.
LANGUAGE_HOME = {"en": (-5.0, "US"), "zh": (8.0, "CN"), "ja": (9.0, "JP"), "ko": (9.0, "KR"), "ru": (3.0, "RU"),
                 "es": (1.0, "ES"), "de": (1.0, "DE"), "fr": (1.0, "FR")}


@dataclass(frozen=True)
class Phrasing:
    """How one language's speakers word the requests the simulator makes. Suffixes carry their own
    leading space where the language separates sentences with one."""

    language: str
    subjects: tuple[str, ...]
    aspects: tuple[str, ...]
    templates: tuple[str, ...]          # slots: {topic} {aspect} {k}
    reasoning: tuple[str, ...]          # asking for the reasoning in so many words
    formats: tuple[str, ...]            # a fixed answer layout ("" = none)
    openers: tuple[str, ...]            # human-sounding lead-ins (mimicry)
    bench_stems: tuple[str, ...]        # evaluation questions, slots {a} {b}
    bench_suffix: str
    sentences: tuple[str, ...]          # everyday text (translation sources, labelling items)
    casual: tuple[str, ...]             # casual questions
    followups: tuple[str, ...] = ()     # a later chat turn's lead-in ("thanks. next question:")


def _ph(language: str, **kw: Any) -> Phrasing:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    return Phrasing(language=language, **fields)


_DEFAULT_PHRASINGS = {
    "zh": _ph("zh",
              subjects=["光合作用", "黑洞", "量子纠缠", "供需关系", "神经网络", "板块构造", "免疫系统", "复利", "博弈论", "热力学", "密码学", "线性代数"],
              aspects=["历史背景", "核心机制", "常见误解", "数学模型", "实际应用", "尚未解决的问题", "典型例题", "与其他方法的比较"],
              templates=["请详细解释{topic}的{aspect}（第{k}题）。", "第{k}条：围绕{topic}，写一篇关于{aspect}的深入讲解。",
                         "作为该领域的专家，请全面回答：{topic}中的{aspect}是什么？编号{k}"],
              reasoning=["请一步一步地推理，并写出完整的思考过程。", "在给出最终答案之前，先详细说明你的推导步骤。",
                         "请展示你的解题思路，每一步都要写清楚。", "先分析，再作答，把中间过程全部写出来。"],
              formats=["请用JSON格式输出，包含“思路”和“答案”两个字段。", "格式：分析：……结论：……", ""],
              openers=["我有个问题想请教一下，", "老师上课提到这个，我没太听懂，", "随便问问，"],
              bench_stems=["一列火车以每小时{a}公里的速度行驶，另一列以每小时{b}公里的速度相向而行，它们何时相遇？",
                           "计算{a}乘以{b}再减去{a}的结果。", "小于{a}的质数有多少个？"],
              bench_suffix="请逐步思考，最后给出答案。",
              sentences=["明天下午三点在公司门口见。", "这件衣服可以退换吗？", "我们的航班因为天气原因延误了。", "请把会议记录发给我。",
                         "这家餐厅的菜很好吃，但是服务有点慢。", "合同的第二条需要修改。"],
              casual=["周末去哪里玩比较好？", "怎么做红烧肉？", "帮我写一条生日祝福。", "失眠了怎么办？"]),
    "ja": _ph("ja",
              subjects=["光合成", "ブラックホール", "量子もつれ", "需要と供給", "ニューラルネットワーク", "プレートテクトニクス", "免疫系", "複利",
                        "ゲーム理論", "熱力学", "暗号理論", "線形代数"],
              aspects=["歴史", "基本的な仕組み", "よくある誤解", "数理モデル", "実社会での応用", "未解決の問題", "典型的な例題", "他の手法との比較"],
              templates=["{topic}の{aspect}について詳しく解説してください（問{k}）。", "【{k}】{topic}：{aspect}を専門家の立場から網羅的に説明してください。",
                         "{topic}における{aspect}とは何か、教科書のように丁寧にまとめてください。No.{k}"],
              reasoning=["段階的に考えて、思考過程をすべて書いてください。", "最終的な答えを出す前に、推論のステップを順番に示してください。",
                         "途中の計算や考え方も省略せずに説明してください。", "まず考え方を整理し、それから結論を述べてください。"],
              formats=["JSON形式で「考察」と「回答」のキーを含めて出力してください。", "形式：考察：…結論：…", ""],
              openers=["ちょっと質問なんですが、", "授業で出てきたんですけど、", "初歩的な質問ですみません、"],
              bench_stems=["ある水槽に毎分{a}リットル注ぎ、毎分{b}リットル排水すると、正味の増加量は？", "{a}と{b}の最大公約数を求めよ。",
                           "{a}以下の素数はいくつあるか。"],
              bench_suffix="順を追って考え、最後に「答え：」に続けて解答を書くこと。",
              sentences=["明日の会議は午後二時からに変更になりました。", "この商品はいつ入荷しますか？", "駅までの道を教えていただけますか。",
                         "ご注文ありがとうございました。", "添付の資料をご確認ください。", "雨のため、イベントは中止になりました。"],
              casual=["今夜の夕食のおすすめは？", "猫の名前を考えて", "肩こりを治す方法は？", "京都でおすすめの観光地は？"]),
    "ko": _ph("ko",
              subjects=["광합성", "블랙홀", "양자 얽힘", "수요와 공급", "신경망", "판 구조론", "면역 체계", "복리", "게임 이론", "열역학", "암호학",
                        "선형대수"],
              aspects=["역사적 배경", "핵심 원리", "흔한 오해", "수학적 모델", "실제 응용", "미해결 문제", "대표 예제", "다른 방법과의 비교"],
              templates=["{topic}의 {aspect}에 대해 자세히 설명해 주세요 (문항 {k}).", "[{k}] {topic} — {aspect}: 전문가 수준으로 깊이 있게 서술하시오.",
                         "{topic}의 {aspect}에 관해 교재처럼 체계적으로 정리해 주세요. 번호 {k}"],
              reasoning=[" 단계별로 생각하고 풀이 과정을 모두 보여 주세요.", " 최종 답을 말하기 전에 추론 과정을 차례대로 적어 주세요.",
                         " 중간 계산과 근거를 빠짐없이 설명해 주세요.", " 먼저 분석한 다음 결론을 내려 주세요."],
              formats=[" JSON 형식으로 '분석'과 '답' 키를 포함해 출력하세요.", " 형식: 분석: ... 결론: ...", ""],
              openers=["궁금한 게 있는데요,", "수업 시간에 나왔는데 잘 모르겠어서,", "기초적인 질문이라 죄송한데,"],
              bench_stems=["기차 A는 시속 {a}km, 기차 B는 시속 {b}km로 마주 보고 달린다. 언제 만나는가?", "{a}를 {b}로 나눈 나머지를 구하시오.",
                           "{a}보다 작은 소수는 몇 개인가?"],
              bench_suffix=" 차근차근 풀고 마지막 줄에 '정답:'을 쓰시오.",
              sentences=["내일 오후 세 시에 회의실에서 뵙겠습니다.", "주문한 상품이 아직 도착하지 않았어요.", "이 서류에 서명해 주시겠어요?",
                         "비 때문에 행사가 연기되었습니다.", "환불은 영업일 기준 3일 이내에 처리됩니다.", "새 비밀번호를 설정해 주세요."],
              casual=["주말에 뭐 하면 좋을까?", "김치찌개 맛있게 끓이는 법 알려줘", "친구 생일 축하 메시지 써 줘", "잠이 안 올 때 어떻게 해?"]),
    "ru": _ph("ru",
              subjects=["фотосинтез", "чёрные дыры", "квантовая запутанность", "спрос и предложение", "нейронные сети", "тектоника плит",
                        "иммунная система", "сложные проценты", "теория игр", "термодинамика", "криптография", "линейная алгебра"],
              aspects=["история", "основной механизм", "распространённые заблуждения", "математическая модель", "практическое применение",
                       "открытые проблемы", "типичные задачи", "сравнение с альтернативами"],
              templates=["Подробно объясни тему «{topic}», аспект: {aspect} (пункт {k}).",
                         "Задание {k}. Тема: {topic}. Раздел: {aspect}. Напиши развёрнутый экспертный ответ.",
                         "Составь учебный материал по теме «{topic}» — {aspect}. Вариант {k}."],
              reasoning=[" Рассуждай шаг за шагом и покажи весь ход мыслей.", " Прежде чем дать окончательный ответ, распиши все промежуточные шаги.",
                         " Обоснуй каждый шаг решения.", " Сначала проанализируй, потом сформулируй вывод."],
              formats=[" Ответ дай в формате JSON с полями «рассуждение» и «ответ».", " Формат: Анализ: ... Итог: ...", ""],
              openers=["слушай, такой вопрос:", "препод на паре упомянул, а я не понял:", "может, глупый вопрос, но"],
              bench_stems=["Поезд идёт со скоростью {a} км/ч, другой — {b} км/ч навстречу. Когда они встретятся?", "Найди остаток от деления {a} на {b}.",
                           "Сколько простых чисел меньше {a}?"],
              bench_suffix=" Решай по шагам и в конце напиши «Ответ:».",
              sentences=["Встреча переносится на четверг.", "Когда будет доставлен мой заказ?", "Пожалуйста, подпишите договор до пятницы.",
                         "Спасибо за быстрый ответ!", "Из-за погоды рейс задерживается.", "Пришлите, пожалуйста, счёт на оплату."],
              casual=["что приготовить на ужин из курицы?", "как перестать откладывать дела?", "придумай тост на день рождения",
                      "куда поехать летом недорого?"]),
    "es": _ph("es",
              subjects=["la fotosíntesis", "los agujeros negros", "el entrelazamiento cuántico", "la oferta y la demanda", "las redes neuronales",
                        "la tectónica de placas", "el sistema inmunitario", "el interés compuesto", "la teoría de juegos", "la termodinámica",
                        "la criptografía", "el álgebra lineal"],
              aspects=["historia", "mecanismo central", "errores comunes", "modelo matemático", "aplicaciones reales", "problemas abiertos",
                       "ejemplos resueltos", "comparación con alternativas"],
              templates=["Explica en profundidad {topic}: {aspect} (ítem {k}).", "Pregunta {k}. Sobre {topic}, describe con detalle el apartado «{aspect}».",
                         "Redacta una respuesta de nivel experto. Tema: {topic} ({aspect}), variante {k}."],
              reasoning=[" Razona paso a paso y muestra todo tu proceso.", " Antes de la respuesta final, detalla cada paso intermedio.",
                         " Justifica cada paso de tu razonamiento.", " Piensa con calma y explica cómo llegas a la conclusión."],
              formats=[" Responde en JSON con las claves razonamiento y respuesta.", " Formato: Análisis: ... Respuesta final: ...", ""],
              openers=["oye, una duda:", "mi profe lo mencionó y no lo entendí,", "perdona si es muy básico, pero"],
              bench_stems=["Un tren va a {a} km/h y otro a {b} km/h en sentido contrario; ¿cuándo se cruzan?", "Calcula {a} por {b} menos {a}.",
                           "¿Cuántos números primos hay por debajo de {a}?"],
              bench_suffix=" Resuélvelo paso a paso y termina con «Respuesta:».",
              sentences=["¿A qué hora sale el próximo autobús?", "Mi pedido llegó incompleto.", "Nos vemos mañana en la oficina.",
                         "Gracias por su paciencia.", "El informe debe entregarse antes del viernes.", "¿Se puede pagar con tarjeta?"],
              casual=["¿qué hago de cena con arroz y huevos?", "ideas para un regalo de cumpleaños", "cómo dejar de procrastinar",
                      "recomiéndame una serie"]),
    "de": _ph("de",
              subjects=["Photosynthese", "Schwarze Löcher", "Quantenverschränkung", "Angebot und Nachfrage", "Neuronale Netze", "Plattentektonik",
                        "Immunsystem", "Zinseszins", "Spieltheorie", "Thermodynamik", "Kryptographie", "Lineare Algebra"],
              aspects=["Geschichte", "Kernmechanismus", "häufige Missverständnisse", "mathematisches Modell", "praktische Anwendungen",
                       "offene Fragen", "typische Übungsaufgaben", "Vergleich mit Alternativen"],
              templates=["Erkläre ausführlich: {topic}, Aspekt „{aspect}“ (Nr. {k}).",
                         "Aufgabe {k}: Verfasse eine fundierte Expertenantwort zu {topic} – Schwerpunkt: {aspect}.",
                         "Schreibe einen Lehrbuchabschnitt über {topic} ({aspect}), Variante {k}."],
              reasoning=[" Denke Schritt für Schritt und zeige deinen gesamten Gedankengang.", " Lege vor der endgültigen Antwort alle Zwischenschritte dar.",
                         " Begründe jeden einzelnen Schritt.", " Analysiere zuerst und formuliere dann dein Fazit."],
              formats=[" Antworte als JSON mit den Feldern begruendung und antwort.", " Format: Überlegung: ... Ergebnis: ...", ""],
              openers=["kurze Frage:", "unser Lehrer hat das erwähnt und", "sorry, wahrscheinlich eine dumme Frage, aber"],
              bench_stems=["Ein Zug fährt mit {a} km/h, ein anderer mit {b} km/h entgegen. Wann treffen sie sich?", "Berechne {a} mal {b} minus {a}.",
                           "Wie viele Primzahlen sind kleiner als {a}?"],
              bench_suffix=" Löse die Aufgabe schrittweise und schließe mit „Antwort:“ ab.",
              sentences=["Der Termin wurde auf Donnerstag verschoben.", "Wann wird meine Bestellung geliefert?", "Bitte senden Sie mir die Rechnung zu.",
                         "Vielen Dank für Ihre schnelle Rückmeldung.", "Wegen Bauarbeiten fällt der Zug heute aus.",
                         "Können wir das Meeting auf nächste Woche legen?"],
              casual=["was kann ich heute mit Kartoffeln kochen?", "schreib mir einen Geburtstagsgruß für meine Oma", "wie werde ich schneller fit?",
                      "Tipps gegen Prokrastination"]),
    "fr": _ph("fr",
              subjects=["la photosynthèse", "les trous noirs", "l'intrication quantique", "l'offre et la demande", "les réseaux de neurones",
                        "la tectonique des plaques", "le système immunitaire", "les intérêts composés", "la théorie des jeux", "la thermodynamique",
                        "la cryptographie", "l'algèbre linéaire"],
              aspects=["histoire", "mécanisme central", "idées reçues", "modèle mathématique", "applications concrètes", "questions ouvertes",
                       "exercices types", "comparaison avec les alternatives"],
              templates=["Explique en détail {topic} — {aspect} (élément {k}).",
                         "Question {k}. Sujet : {topic}. Développe le point « {aspect} » de façon approfondie.",
                         "Rédige une réponse d'expert sur {topic} ({aspect}), variante {k}."],
              reasoning=[" Raisonne étape par étape et montre tout ton cheminement.", " Avant la réponse finale, détaille chaque étape intermédiaire.",
                         " Justifie chaque étape de ton raisonnement.", " Analyse d'abord, puis donne ta conclusion."],
              formats=[" Réponds en JSON avec les clés raisonnement et reponse.", " Format : Analyse : ... Réponse finale : ...", ""],
              openers=["petite question :", "mon prof en a parlé et j'ai pas compris,", "désolé si c'est basique, mais"],
              bench_stems=["Un train roule à {a} km/h et un autre à {b} km/h en sens inverse ; quand se croisent-ils ?", "Calcule {a} fois {b} moins {a}.",
                           "Combien y a-t-il de nombres premiers inférieurs à {a} ?"],
              bench_suffix=" Résous pas à pas et termine par « Réponse : ».",
              sentences=["La réunion est reportée à jeudi.", "Quand ma commande sera-t-elle livrée ?", "Merci de m'envoyer la facture.",
                         "Le vol a été annulé à cause de la météo.", "Pouvez-vous confirmer la réservation ?", "Je vous remercie pour votre retour rapide."],
              casual=["qu'est-ce que je cuisine ce soir avec des courgettes ?", "aide-moi à écrire un message d'anniversaire", "comment mieux dormir ?",
                      "idées de sortie pour ce week-end"]),
}

_ALT_PHRASINGS = {
    "zh": _ph("zh",
              subjects=["真菌学", "贝叶斯推断", "珊瑚礁", "分布式共识", "养蜂", "发酵工艺", "地图学", "地震学", "拍卖理论", "射电天文学", "纽结理论",
                        "玻璃吹制"],
              aspects=["起源", "物理基础", "典型错误", "定量分析", "工业实践", "未解之谜", "里程碑研究", "边界条件"],
              templates=["任务#{k}：以研究生水平系统阐述{topic}，重点是{aspect}。", "[{k}] 主题={topic}；方面={aspect}。请撰写一份完整的参考答案。",
                         "起草教材第{k}节，内容涵盖{topic}的{aspect}。"],
              reasoning=["把你的思考过程一条一条写出来，再给结论。", "请从基本原理出发，逐步推导。", "回答前先列出推理链条，说明每一步的依据。",
                         "要有完整的推演，不要只给结果。"],
              formats=["以YAML返回，字段为thought和result。", "结构如下 -> 思考：……结果：……", ""],
              openers=["嗯，想问一下，", "我们学习小组为这个争论起来了：", "朋友问我，我一下子答不上来："],
              bench_stems=["水池每分钟进水{a}升、出水{b}升，净流量是多少？", "求{a}除以{b}的余数。", "{a}有多少个约数？"],
              bench_suffix="仔细推理，并以“答案：”结尾。",
              sentences=["我的航班延误了，请问可以改签吗？", "行李在转机时丢失了。", "请帮我预订靠窗的座位。", "发票已经开好了，请查收。",
                         "会议改到下周一上午。", "这个软件的许可证什么时候到期？"],
              casual=["怎么给多肉换盆？", "租房怎么跟房东砍价？", "推荐几款适合新手的桌游", "滑雪旅行需要带什么？"]),
    "ja": _ph("ja",
              subjects=["菌類学", "ベイズ推定", "サンゴ礁", "分散合意", "養蜂", "発酵", "地図学", "地震学", "オークション理論", "電波天文学", "結び目理論",
                        "ガラス工芸"],
              aspects=["起源", "背後にある物理", "典型的な間違い", "定量的な扱い", "産業での実践", "未解決の謎", "画期的な研究", "境界条件"],
              templates=["タスク#{k}：{topic}について、{aspect}に焦点を当てて大学院レベルで論じよ。",
                         "[{k}] トピック={topic}；観点={aspect}。模範解答を作成せよ。",
                         "教科書の第{k}節として、{topic}の{aspect}を扱う原稿を書いて。"],
              reasoning=["考えたことを一つずつ書き出してから結論を述べよ。", "第一原理から順に導出すること。",
                         "各ステップの根拠を示しながら推論を進めてください。",
                         "結果だけでなく、導き方も全部書いて。"],
              formats=["YAMLで thought と result のフィールドを返すこと。", "構成 -> 思考：…結果：…", ""],
              openers=["えっと、", "勉強会でこれについて揉めたんですが、", "友達に聞かれて答えられなかったんだけど、"],
              bench_stems=["タンクに毎分{a}L入り毎分{b}L出るとき、正味の流量は？", "{a}を{b}で割った余りを求めよ。", "{a}の約数の個数を数えよ。"],
              bench_suffix="慎重に推論し、最後に「解答：」と書くこと。",
              sentences=["乗り継ぎ便に間に合いませんでした。", "座席の指定ができません。", "請求書を添付いたします。", "会議は来週月曜日の午前に変更です。",
                         "ライセンスの有効期限を教えてください。", "荷物が届いていません。"],
              casual=["サボテンの植え替え方は？", "家賃の値下げ交渉のコツ", "初心者向けのボードゲームを教えて", "スキー旅行の持ち物リスト"]),
    "ko": _ph("ko",
              subjects=["균류학", "베이즈 추론", "산호초", "분산 합의", "양봉", "발효", "지도학", "지진학", "경매 이론", "전파 천문학", "매듭 이론",
                        "유리 공예"],
              aspects=["기원", "물리적 토대", "전형적인 실수", "정량적 분석", "산업 현장", "풀리지 않은 문제", "획기적 연구", "경계 조건"],
              templates=["과제 #{k}: {topic}에 대해 {aspect} 중심으로 대학원 수준의 해설을 작성하라.",
                         "[{k}] 주제={topic}; 관점={aspect}. 모범 답안을 작성할 것.",
                         "교재 {k}절 초안: {topic} — {aspect}."],
              reasoning=[" 생각한 내용을 하나씩 적은 뒤 결론을 말하라.", " 기본 원리부터 차례로 유도할 것.", " 각 단계의 근거를 밝히며 추론을 전개해 주세요.",
                         " 결과만 말고 도출 과정 전체를 써 줘."],
              formats=[" YAML로 thought, result 필드를 반환할 것.", " 구조 -> 생각: ... 결과: ...", ""],
              openers=["음, 혹시", "스터디에서 이걸로 논쟁이 붙었는데,", "친구가 물어봤는데 대답을 못 해서,"],
              bench_stems=["탱크에 분당 {a}L가 들어오고 {b}L가 나간다. 순유량은?", "{a} mod {b}를 계산하라.", "{a}의 약수의 개수는?"],
              bench_suffix=" 신중하게 추론하고 마지막에 '답:'으로 끝낼 것.",
              sentences=["환승 항공편을 놓쳤습니다.", "좌석 지정이 안 됩니다.", "청구서를 첨부합니다.", "회의는 다음 주 월요일 오전으로 변경되었습니다.",
                         "라이선스 만료일을 알려 주세요.", "수하물이 아직 안 나왔어요."],
              casual=["선인장 분갈이 어떻게 해?", "월세 협상 팁 좀", "초보자용 보드게임 추천해 줘", "스키 여행 준비물 알려줘"]),
    "ru": _ph("ru",
              subjects=["микология", "байесовский вывод", "коралловые рифы", "распределённый консенсус", "пчеловодство", "ферментация", "картография",
                        "сейсмология", "теория аукционов", "радиоастрономия", "теория узлов", "стеклодувное дело"],
              aspects=["истоки", "физические основы", "типичные ошибки", "количественный разбор", "промышленная практика", "нерешённые загадки",
                       "ключевые исследования", "граничные условия"],
              templates=["Задача №{k}: изложи на уровне магистратуры тему «{topic}», акцент — {aspect}.",
                         "[{k}] тема={topic}; ракурс={aspect}. Подготовь эталонный ответ.", "Черновик параграфа {k} учебника: {topic}, {aspect}."],
              reasoning=[" Выпиши ход мысли по пунктам, а затем сделай вывод.", " Выведи всё из первых принципов, последовательно.",
                         " Для каждого шага укажи, на чём он основан.", " Нужен не только результат, но и полный вывод."],
              formats=[" Верни YAML с полями thought и result.", " Структура -> Мысли: ... Результат: ...", ""],
              openers=["хм, а вот", "у нас в учебной группе спор вышел:", "друг спросил, а я не смог ответить:"],
              bench_stems=["В бак поступает {a} л/мин, вытекает {b} л/мин. Каков чистый приток?", "Вычисли {a} по модулю {b}.",
                           "Сколько делителей у числа {a}?"],
              bench_suffix=" Рассуждай аккуратно и закончи строкой «Ответ:».",
              sentences=["Я опоздал на стыковочный рейс.", "Не получается выбрать место.", "Счёт во вложении.", "Совещание перенесли на понедельник.",
                         "Когда истекает лицензия?", "Мой багаж не прибыл."],
              casual=["как пересадить кактус?", "как договориться о снижении аренды?", "посоветуй настольные игры для новичков",
                      "что взять с собой на горнолыжный курорт?"]),
    "es": _ph("es",
              subjects=["la micología", "la inferencia bayesiana", "los arrecifes de coral", "el consenso distribuido", "la apicultura", "la fermentación",
                        "la cartografía", "la sismología", "la teoría de subastas", "la radioastronomía", "la teoría de nudos", "el soplado de vidrio"],
              aspects=["orígenes", "física subyacente", "fallos típicos", "tratamiento cuantitativo", "práctica industrial", "enigmas sin resolver",
                       "estudios clave", "condiciones de contorno"],
              templates=["Tarea n.º {k}: elabora una exposición de posgrado sobre {topic}, centrada en {aspect}.",
                         "[{k}] tema={topic}; faceta={aspect}. Redacta una respuesta de referencia completa.",
                         "Borrador de la sección {k} de un manual: {topic}, {aspect}."],
              reasoning=[" Anota tu proceso de pensamiento punto por punto y luego concluye.", " Dedúcelo desde los primeros principios, en orden.",
                         " Indica en qué te basas en cada paso.", " No me des solo el resultado: quiero la deducción completa."],
              formats=[" Devuelve YAML con los campos thought y result.", " Estructura -> Pensamiento: ... Resultado: ...", ""],
              openers=["mmm, a ver,", "en mi grupo de estudio discutimos esto:", "un amigo me lo preguntó y me quedé en blanco:"],
              bench_stems=["Un depósito recibe {a} L/min y pierde {b} L/min; ¿caudal neto?", "Calcula {a} módulo {b}.", "¿Cuántos divisores tiene {a}?"],
              bench_suffix=" Razona con cuidado y termina con «Solución:».",
              sentences=["Perdí el vuelo de conexión.", "No puedo elegir asiento.", "Adjunto la factura.", "La reunión pasa al lunes por la mañana.",
                         "¿Cuándo caduca la licencia?", "Mi equipaje no ha llegado."],
              casual=["¿cómo trasplanto un cactus?", "consejos para negociar el alquiler", "juegos de mesa para principiantes",
                      "qué llevar a un viaje de esquí"]),
    "de": _ph("de",
              subjects=["Mykologie", "Bayes-Statistik", "Korallenriffe", "verteilter Konsens", "Imkerei", "Fermentation", "Kartografie", "Seismologie",
                        "Auktionstheorie", "Radioastronomie", "Knotentheorie", "Glasbläserei"],
              aspects=["Ursprünge", "physikalische Grundlagen", "typische Fehler", "quantitative Behandlung", "industrielle Praxis", "ungelöste Rätsel",
                       "Schlüsselstudien", "Randbedingungen"],
              templates=["Auftrag Nr. {k}: Verfasse eine Darstellung auf Masterniveau zu {topic}, Fokus {aspect}.",
                         "[{k}] Thema={topic}; Facette={aspect}. Erstelle eine vollständige Musterantwort.",
                         "Entwurf für Lehrbuchkapitel {k}: {topic} – {aspect}."],
              reasoning=[" Schreib deine Überlegungen Punkt für Punkt auf und zieh dann den Schluss.", " Leite es der Reihe nach aus den Grundprinzipien her.",
                         " Nenne bei jedem Schritt, worauf er beruht.", " Nicht nur das Ergebnis, sondern die ganze Herleitung bitte."],
              formats=[" Gib YAML mit den Feldern thought und result zurück.", " Aufbau -> Gedanken: ... Resultat: ...", ""],
              openers=["hm, mal so gefragt:", "in unserer Lerngruppe gab es Streit darüber:", "ein Freund hat mich das gefragt und ich war ratlos:"],
              bench_stems=["Ein Tank füllt sich mit {a} L/min und leert sich mit {b} L/min. Netto-Rate?", "Berechne {a} modulo {b}.",
                           "Wie viele Teiler hat {a}?"],
              bench_suffix=" Überlege sorgfältig und ende mit „Lösung:“.",
              sentences=["Ich habe meinen Anschlussflug verpasst.", "Die Sitzplatzwahl funktioniert nicht.", "Anbei die Rechnung.",
                         "Das Meeting wird auf Montagvormittag verlegt.", "Wann läuft die Lizenz ab?", "Mein Gepäck ist nicht angekommen."],
              casual=["wie topfe ich einen Kaktus um?", "Tipps für die Mietverhandlung", "Brettspiele für Anfänger?", "Packliste für den Skiurlaub"]),
    "fr": _ph("fr",
              subjects=["la mycologie", "l'inférence bayésienne", "les récifs coralliens", "le consensus distribué", "l'apiculture", "la fermentation",
                        "la cartographie", "la sismologie", "la théorie des enchères", "la radioastronomie", "la théorie des nœuds", "le soufflage du verre"],
              aspects=["origines", "physique sous-jacente", "erreurs typiques", "traitement quantitatif", "pratique industrielle", "énigmes non résolues",
                       "études marquantes", "conditions aux limites"],
              templates=["Tâche n° {k} : rédige un exposé de niveau master sur {topic}, axé sur {aspect}.",
                         "[{k}] sujet={topic} ; facette={aspect}. Produis une réponse de référence complète.",
                         "Brouillon du chapitre {k} d'un manuel : {topic}, {aspect}."],
              reasoning=[" Note ta réflexion point par point, puis conclus.", " Déduis-le à partir des premiers principes, dans l'ordre.",
                         " Indique sur quoi repose chaque étape.", " Pas seulement le résultat : je veux toute la démonstration."],
              formats=[" Renvoie du YAML avec les champs thought et result.", " Structure -> Réflexion : ... Résultat : ...", ""],
              openers=["hmm, du coup", "dans mon groupe de révision on s'est disputés là-dessus :", "un ami m'a demandé et j'ai séché :"],
              bench_stems=["Un réservoir reçoit {a} L/min et perd {b} L/min ; débit net ?", "Calcule {a} modulo {b}.", "Combien de diviseurs a {a} ?"],
              bench_suffix=" Raisonne soigneusement et termine par « Solution : ».",
              sentences=["J'ai raté ma correspondance.", "Impossible de choisir mon siège.", "Veuillez trouver la facture ci-jointe.",
                         "La réunion est déplacée à lundi matin.", "Quand la licence expire-t-elle ?", "Mes bagages ne sont pas arrivés."],
              casual=["comment rempoter un cactus ?", "astuces pour négocier son loyer", "jeux de société pour débutants",
                      "que prendre pour un séjour au ski ?"]),
}


def _english(v: Vocabulary) -> Phrasing:
    return Phrasing(language="en", subjects=v.subjects, aspects=v.aspects, templates=v.extraction_templates, reasoning=v.reasoning_suffixes,
                    formats=v.format_suffixes, openers=v.paraphrase_openers, bench_stems=v.benchmark_stems, bench_suffix=v.benchmark_suffix,
                    sentences=v.app_prompts, casual=v.casual_things, followups=v.followups)


#: A later chat turn's lead-in, per vocabulary and language (what a person types after an answer
#: before the next question; harvesters that wrap prompts in fake conversations borrow it).
_FOLLOWUPS = {
    "default": {
        "zh": ("谢谢，很有帮助。下一个问题：", "好的，接着问：", "明白了。再来一个：", "懂了，那么"),
        "ja": ("ありがとうございます。次の質問です：", "なるほど。続けて、", "了解です。もう一つ：", "助かります。では、"),
        "ko": ("고마워요. 다음 질문:", "좋아요, 이어서", "알겠습니다. 하나 더:", "그렇군요. 그럼"),
        "ru": ("Спасибо, понятно. Следующий вопрос:", "Отлично. Теперь", "Хорошо, дальше:", "Ясно, спасибо. А"),
        "es": ("Gracias, me sirve. Siguiente:", "Perfecto. Ahora,", "Vale, otra más:", "Entendido. Y"),
        "de": ("Danke, hilft mir. Nächste Frage:", "Super. Jetzt", "Okay, weiter:", "Alles klar. Und"),
        "fr": ("Merci, c'est clair. Question suivante :", "Parfait. Maintenant,", "D'accord, encore une :", "Très bien. Et"),
    },
    "alt": {
        "zh": ("收到，继续：", "不错。另外，", "了解，下一题：", "行，再问一下："),
        "ja": ("助かりました。では次に、", "OKです。追加で：", "わかりました。別件ですが、", "さらに伺います："),
        "ko": ("감사합니다! 추가로", "오케이, 계속해서:", "이해했어요. 다음 항목:", "덕분에 알겠어요. 또"),
        "ru": ("Благодарю! Ещё вопрос:", "Принято. Продолжим:", "Понял, а теперь", "Ок. Дополнительно:"),
        "es": ("¡Genial! Una duda más:", "Entendido; sigamos:", "Bien, y también:", "De acuerdo. Además,"),
        "de": ("Prima! Noch etwas:", "Verstanden – als Nächstes:", "Gut, außerdem:", "Danke dir. Zusätzlich:"),
        "fr": ("Super ! Autre chose :", "Compris ; on continue :", "Bien, et aussi :", "Entendu. En plus,"),
    },
}


def _with_followups(name: str, sets: dict[str, Phrasing]) -> dict[str, Phrasing]:
    return {lang: replace(ph, followups=_FOLLOWUPS[name][lang]) for lang, ph in sets.items()}


#: vocabulary name -> language -> phrasing set.
PHRASINGS: dict[str, dict[str, Phrasing]] = {
    "default": {"en": _english(DEFAULT), **_with_followups("default", _DEFAULT_PHRASINGS)},
    "alt": {"en": _english(ALT), **_with_followups("alt", _ALT_PHRASINGS)},
}


def phrasing(vocab: Vocabulary, language: str) -> Phrasing:
    """The phrasing set of ``language`` in ``vocab``.

    >>> phrasing(DEFAULT, "ja").templates[0].format(topic="x", aspect="y", k=1)[:3]
    'xのy'
    >>> set(PHRASINGS["default"]) == set(LANGUAGES) == set(PHRASINGS["alt"])
    True
    """
    return PHRASINGS[vocab.name][language]
