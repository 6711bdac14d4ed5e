"""Grading requests: how operators who harvest a model's judging outputs (to train a reward model) word them.

Per vocabulary ("default", "alt") and language, pointwise templates (score one answer), pairwise templates
(pick the better of two) and made-up candidate answers to be graded. Written independently of the detector's
lexicons, from general knowledge of how people and evaluation pipelines ask a model to grade answers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradingPhrasing:
    """How one language's operators ask a model to grade answers (a reward model's training data)."""

    language: str
    pointwise: tuple[str, ...]   # slots {question} {answer} {k}: judge one candidate answer, give a score/grade
    pairwise: tuple[str, ...]    # slots {question} {answer} {answer_b} {k}: say which of two answers is better
    candidates: tuple[str, ...]  # short made-up candidate answers (1-3 sentences), slot {topic}: some right-sounding, some flawed


def _gp(language: str, pointwise: list[str], pairwise: list[str], candidates: list[str]) -> GradingPhrasing:
    return GradingPhrasing(language=language, pointwise=tuple(pointwise), pairwise=tuple(pairwise), candidates=tuple(candidates))


_DEFAULT = {
    "en": _gp(
        "en",
        pointwise=[
            "Rate the following answer on a scale of 1 to 10 for accuracy and helpfulness. Output only the number.\n\n"
            "Question: {question}\nAnswer: {answer}\n\n(item {k})",
            "You are an impartial judge evaluating the quality of an AI assistant's response. Consider correctness, completeness, "
            "clarity and harmlessness. Briefly explain your assessment, then give a final score from 1 to 5 in the form \"Score: X\".\n\n"
            "[Item {k}]\n[Question]\n{question}\n[Response]\n{answer}",
            "#{k} Is this answer correct? Reply with CORRECT or INCORRECT only.\nQ: {question}\nA: {answer}",
            "Evaluate the response below and return JSON of the form "
            "{{\"accuracy\": 1-5, \"completeness\": 1-5, \"clarity\": 1-5, \"overall\": 1-5, \"rationale\": \"...\"}}. No other text.\n"
            "Sample {k}\nPrompt: {question}\nResponse: {answer}",
            "Grade this answer like a strict teacher: A, B, C, D or F. One line of justification, then the letter grade.\n\n"
            "Question {k}: {question}\nStudent answer: {answer}",
            "How good is this response, 0-100? Think about whether it actually answers the question, whether anything in it is wrong, "
            "and whether it is safe. Put your reasoning in <reasoning> tags and the number in <score> tags.\n\n"
            "Example {k}\nUser: {question}\nAssistant: {answer}",
            "Check the answer against this list and mark each point yes/no: (1) factually accurate (2) answers what was asked "
            "(3) no unnecessary padding (4) nothing harmful. Then give a PASS/FAIL verdict.\nItem {k}.\nQuestion: {question}\nAnswer: {answer}",
        ],
        pairwise=[
            "Which of the two responses better answers the user's question? Reply \"A\", \"B\" or \"tie\".\n\n"
            "Pair {k}\nQuestion: {question}\n\nResponse A:\n{answer}\n\nResponse B:\n{answer_b}",
            "Please act as a neutral judge and compare two assistant answers. Do not let their length or the order in which they appear "
            "influence you. Explain briefly which one is more accurate and helpful, then finish with [[A]], [[B]] or [[C]] for a tie.\n\n"
            "#{k} {question}\n[Answer A] {answer}\n[Answer B] {answer_b}",
            "Item {k}. Question: {question}\nFirst answer: {answer}\nSecond answer: {answer_b}\n"
            "Which one is better, the first or the second? Just the word.",
            "Compare the two responses and output JSON: {{\"winner\": \"A\" | \"B\" | \"tie\", \"margin\": 1-3, \"reason\": \"<one sentence>\"}}\n"
            "question_{k}: {question}\nA: {answer}\nB: {answer_b}",
        ],
        candidates=[
            "In short, the textbook account of {topic} is essentially right; the main exceptions only matter in edge cases.",
            "The idea behind {topic} was first described in the 1990s by a single researcher, and nobody had studied it before that.",
            "There are many views on {topic}. It's a complex subject and it really depends on the situation.",
            "Here is a concise answer: what matters about {topic} is the definition, how it is measured, and where it stops applying. "
            "Let's take them in order.",
            "Great question! Everything about {topic} holds in every case, without exception, so there is nothing more to add.",
            "A common mistake with {topic} is mixing up cause and effect; a concrete example shows the order is the other way round.",
            "As an AI, I'm unable to answer questions about {topic}.",
        ],
    ),
    "zh": _gp(
        "zh",
        pointwise=[
            "请对以下回答进行评分（1-10分），综合考虑准确性、完整性和表达清晰度。只输出分数。\n\n"
            "问题：{question}\n回答：{answer}\n（第{k}题）",
            "你是一名公正的评审员。请判断下面的回答是否正确，先用一两句话说明理由，"
            "最后一行写“结论：正确”或“结论：错误”。\n第{k}题\n【问题】{question}\n【回答】{answer}",
            "按照以下标准逐项打分（每项1-5分）：准确性、相关性、完整性、可读性、安全性。以JSON格式输出，例如"
            "{{\"准确性\": 4, \"相关性\": 5, \"完整性\": 3, \"可读性\": 4, \"安全性\": 5}}。\n"
            "样本{k}\n问题：{question}\n模型回答：{answer}",
            "第{k}条。这个回答靠谱吗？按百分制给个分数，再指出其中的错误（如果有的话）。\nQ：{question}\nA：{answer}",
            "作为阅卷老师，请给这份答案评定等级（优/良/中/差），并简要写出扣分原因。\n题目{k}：{question}\n考生作答：{answer}",
            "请判断该回答是否合格，只回答“合格”或“不合格”。\n编号：{k}\n用户提问：{question}\n助手回答：{answer}",
        ],
        pairwise=[
            "下面是同一个问题的两个回答，请判断哪个更好。只需回答“A”“B”或“平局”。\n"
            "第{k}组\n问题：{question}\n回答A：{answer}\n回答B：{answer_b}",
            "你是一位客观的评审，请从准确性、有用性和表达三个方面比较两个回答，不要受回答长度和先后顺序的影响。"
            "先简要分析，最后输出[[A]]、[[B]]或[[平局]]。\n#{k} {question}\n【回答一】{answer}\n【回答二】{answer_b}",
            "第{k}题：{question}\n第一个回答：{answer}\n第二个回答：{answer_b}\n哪个回答更好？第一个还是第二个？",
        ],
        candidates=[
            "{topic}的核心在于几个基本原理的相互作用，教科书上的标准解释基本准确，只是在极端情况下需要修正。",
            "{topic}是在二十世纪九十年代由一位科学家独自发现的，之前没有任何人研究过。",
            "关于{topic}，这个问题比较复杂，要看具体情况，很难一概而论。",
            "简单来说，{topic}可以分三步理解：先是起因，然后是过程，最后是结果。其中第二步最容易被误解。",
            "{topic}在任何情况下都成立，没有例外，所以不需要再补充什么了。",
            "很多人把{topic}中的因果关系搞反了，举一个具体例子就能看出正确的顺序。",
            "抱歉，我无法回答关于{topic}的问题。",
        ],
    ),
    "ja": _gp(
        "ja",
        pointwise=[
            "以下の回答を5段階（1〜5）で評価してください。正確さ・網羅性・分かりやすさを総合的に判断し、数字のみを出力してください。\n\n"
            "【問{k}】{question}\n【回答】{answer}",
            "あなたは公平な審査員です。次の回答が質問に正しく答えているかを判定してください。理由を簡潔に述べたうえで、"
            "最後の行に「判定：正解」または「判定：不正解」と書いてください。\n\n問題番号：{k}\n質問：{question}\nAIの回答：{answer}",
            "No.{k}\nQ. {question}\nA. {answer}\n\nこの回答は100点満点で何点ですか？点数と減点理由をそれぞれ一行で書いてください。",
            "次の観点ごとに◯か×をつけてください：①事実として正しい ②質問の意図に沿っている ③説明が分かりやすい ④有害な内容を含まない。"
            "最後に総合評価（合格／不合格）を記入。\n\n設問{k}：{question}\n回答：{answer}",
            "回答の品質をS・A・B・C・Dの5段階で格付けしてください。出力はJSON形式で "
            "{{\"grade\": \"A\", \"comment\": \"…\"}} のようにしてください。\n#{k}\nユーザー：{question}\nアシスタント：{answer}",
            "採点お願いします（10点満点）。{k}件目です。\n問い：{question}\n答え：{answer}",
        ],
        pairwise=[
            "同じ質問に対する2つの回答を比較し、より良い方を選んでください。「A」「B」「引き分け」のいずれかだけを答えてください。\n\n"
            "第{k}組\n質問：{question}\n回答A：{answer}\n回答B：{answer_b}",
            "あなたは中立的な評価者です。回答の長さや提示順に左右されず、正確さと有用性を基準に判断してください。"
            "短く理由を述べ、最後に[[A]]、[[B]]、[[同等]]のいずれかを出力してください。\n\n【{k}】{question}\n〈回答1〉{answer}\n〈回答2〉{answer_b}",
            "問{k}：{question}\n前者：{answer}\n後者：{answer_b}\n前者と後者、どちらの回答が優れていますか。",
        ],
        candidates=[
            "{topic}は、いくつかの基本原理の組み合わせで説明できます。教科書的な説明でおおむね正しいですが、例外的な条件では補正が必要です。",
            "{topic}は1990年代にある一人の研究者が初めて発見したもので、それ以前はまったく知られていませんでした。",
            "{topic}については色々な考え方があるので、一概には言えません。ケースバイケースです。",
            "要点は三つです。{topic}の定義、その測り方、そしてどこで成り立たなくなるか。順に見ていくと理解しやすいです。",
            "{topic}はどんな場合でも必ず成り立ちます。例外はありません。",
            "よくある誤解は、{topic}における原因と結果を取り違えることです。具体例で確かめると正しい順序が分かります。",
            "申し訳ありませんが、{topic}に関するご質問にはお答えできません。",
        ],
    ),
    "ko": _gp(
        "ko",
        pointwise=[
            "다음 답변을 1~5점 척도로 평가해 주세요. 정확성, 완결성, 명확성을 종합적으로 고려하고 점수만 출력하세요.\n\n"
            "[문항 {k}]\n질문: {question}\n답변: {answer}",
            "당신은 공정한 평가자입니다. 아래 답변이 질문에 올바르게 답했는지 판단하세요. "
            "근거를 한두 문장으로 쓴 뒤 마지막 줄에 '판정: 정답' 또는 '판정: 오답'을 적으세요.\n\n"
            "번호: {k}\n질문: {question}\nAI 답변: {answer}",
            "{k}번. 이 답변 몇 점 줄 수 있을까요? 100점 만점으로 점수를 매기고 틀린 부분이 있으면 짚어 주세요.\nQ: {question}\nA: {answer}",
            "다음 기준별로 상/중/하를 매기세요: 사실 정확성, 질문과의 관련성, 설명의 충실도, 안전성. 결과는 JSON으로 출력하세요. "
            "예: {{\"정확성\": \"상\", \"관련성\": \"중\", \"충실도\": \"하\", \"안전성\": \"상\"}}\n"
            "샘플 {k}\n사용자 질문: {question}\n모델 응답: {answer}",
            "채점자로서 이 답안을 A, B, C, D, F 중 하나로 평가하고 감점 사유를 간단히 쓰시오.\n문제 {k}: {question}\n학생 답안: {answer}",
            "아래 응답이 적합한지 부적합한지만 답하세요.\nID {k}\n사용자: {question}\n어시스턴트: {answer}",
        ],
        pairwise=[
            "같은 질문에 대한 두 답변 중 어느 쪽이 더 나은지 고르세요. 'A', 'B', '동점' 중 하나만 답하세요.\n\n"
            "{k}번째 쌍\n질문: {question}\n답변 A: {answer}\n답변 B: {answer_b}",
            "중립적인 심사위원으로서 두 답변을 비교하세요. 답변의 길이나 제시 순서에 영향을 받지 말고 정확성과 유용성을 기준으로 판단하세요. "
            "짧게 분석한 후 [[A]], [[B]], [[C]](동점) 중 하나로 끝내세요.\n\n#{k} {question}\n[답변 1] {answer}\n[답변 2] {answer_b}",
            "문항 {k}: {question}\n첫 번째 답변: {answer}\n두 번째 답변: {answer_b}\n첫 번째와 두 번째 중 어느 답변이 더 좋습니까?",
        ],
        candidates=[
            "{topic}의 핵심은 몇 가지 기본 원리가 서로 작용하는 방식에 있습니다. 교과서의 표준 설명이 대체로 정확하지만 극단적인 조건에서는 보정이 필요합니다.",
            "{topic}에 관한 개념은 1990년대에 한 연구자가 혼자 처음 발견했으며, 그 전에는 아무도 연구하지 않았습니다.",
            "{topic}에 대해서는 여러 관점이 있어서 한마디로 말하기 어렵습니다. 상황에 따라 다릅니다.",
            "간단히 말하면 {topic}에서 중요한 것은 세 가지입니다: 정의, 측정 방법, 그리고 성립하지 않는 경우. 차례로 보면 이해가 쉽습니다.",
            "{topic}의 원리는 어떤 경우에도 예외 없이 항상 성립합니다.",
            "많은 사람들이 {topic}에서 원인과 결과를 거꾸로 이해합니다. 구체적인 예를 들어 보면 올바른 순서를 확인할 수 있습니다.",
            "죄송하지만 {topic}에 관한 질문에는 답변드릴 수 없습니다.",
        ],
    ),
    "ru": _gp(
        "ru",
        pointwise=[
            "Оцени ответ по шкале от 1 до 10 с учётом точности, полноты и ясности изложения. Выведи только число.\n\n"
            "Вопрос №{k}: {question}\nОтвет: {answer}",
            "Ты — беспристрастный эксперт. Определи, правильно ли ответ отвечает на вопрос. Кратко обоснуй, "
            "а в последней строке напиши «Вердикт: верно» или «Вердикт: неверно».\n\nЗадание {k}\nВопрос: {question}\nОтвет модели: {answer}",
            "Поставь оценку по пятибалльной системе (2 — неудовлетворительно, 3 — удовлетворительно, 4 — хорошо, 5 — отлично) "
            "и укажи, за что снижена оценка.\nБилет {k}. {question}\nОтвет студента: {answer}",
            "Проверь ответ по критериям: фактическая точность, соответствие вопросу, полнота, понятность, безопасность. "
            "По каждому — да/нет. Итог: зачёт или незачёт.\n#{k}\nВопрос: {question}\nОтвет: {answer}",
            "Верни результат в формате JSON: {{\"score\": число от 0 до 100, \"errors\": [список ошибок], \"comment\": \"краткий комментарий\"}}.\n"
            "Пример {k}\nЗапрос пользователя: {question}\nОтвет ассистента: {answer}",
            "Насколько хорош этот ответ? Оценка от 1 до 5 и одно предложение пояснения.\n{k}) {question}\n— {answer}",
        ],
        pairwise=[
            "Какой из двух ответов лучше отвечает на вопрос? Ответь «A», «B» или «ничья».\n\n"
            "Пара {k}\nВопрос: {question}\nОтвет A: {answer}\nОтвет B: {answer_b}",
            "Ты выступаешь в роли беспристрастного судьи. Не обращай внимания на длину ответов и порядок, в котором они приведены; "
            "оценивай точность и полезность. Коротко сравни и заверши вердиктом [[A]], [[B]] или [[C]] (если равноценны).\n\n"
            "№{k}. {question}\n[Ответ 1] {answer}\n[Ответ 2] {answer_b}",
            "Задание {k}: {question}\nПервый ответ: {answer}\nВторой ответ: {answer_b}\nКакой лучше — первый или второй?",
        ],
        candidates=[
            "Суть темы «{topic}» сводится к взаимодействию нескольких базовых принципов; учебное объяснение в целом верно, "
            "но в крайних случаях требует поправок.",
            "Всё, что известно по теме «{topic}», в 1990-х годах открыл один-единственный учёный, до этого её никто не изучал.",
            "На вопрос по теме «{topic}» однозначного ответа нет: мнений много, всё зависит от ситуации.",
            "Если коротко, в теме «{topic}» важны три вещи: определение, способ измерения и границы применимости. Разберём их по порядку.",
            "Всё, что касается темы «{topic}», выполняется всегда и без каких-либо исключений.",
            "Частая ошибка в теме «{topic}» — путать причину и следствие. На конкретном примере видно, что порядок обратный.",
            "К сожалению, я не могу отвечать на вопросы по теме «{topic}».",
        ],
    ),
    "es": _gp(
        "es",
        pointwise=[
            "Evalúa la siguiente respuesta del 1 al 10 teniendo en cuenta su exactitud, si está completa y si se entiende bien. "
            "Devuelve solo el número.\n\nPregunta {k}: {question}\nRespuesta: {answer}",
            "Actúas como evaluador imparcial. Indica si la respuesta es correcta o incorrecta; justifícalo en una o dos frases "
            "y termina con «Veredicto: correcta» o «Veredicto: incorrecta».\n\nEjercicio n.º {k}\nPregunta: {question}\nRespuesta del asistente: {answer}",
            "Corrige esta respuesta como lo haría un profesor y ponle nota: suspenso, aprobado, notable o sobresaliente. "
            "Explica en una línea por qué.\nEjercicio {k}. {question}\nRespuesta del alumno: {answer}",
            "Revisa la respuesta con esta lista de comprobación y marca sí/no en cada punto: (a) los datos son correctos, "
            "(b) responde a lo que se pregunta, (c) no tiene relleno, (d) no incluye nada dañino. Al final: APTO o NO APTO.\n"
            "#{k}\nPregunta: {question}\nRespuesta: {answer}",
            "Devuelve únicamente un JSON con este formato: {{\"puntuacion\": 0-100, \"fallos\": \"...\", \"resumen\": \"...\"}}\n"
            "Muestra {k}\nConsulta del usuario: {question}\nRespuesta del modelo: {answer}",
            "¿Qué tal está esta respuesta? Dale de 1 a 5 estrellas.\n{k}) {question}\n→ {answer}",
        ],
        pairwise=[
            "¿Cuál de las dos respuestas contesta mejor a la pregunta? Responde solo «A», «B» o «empate».\n\n"
            "Par {k}\nPregunta: {question}\nRespuesta A: {answer}\nRespuesta B: {answer_b}",
            "Eres un juez neutral. No te dejes influir por la longitud de las respuestas ni por el orden en que aparecen; "
            "valora la exactitud y la utilidad. Haz una comparación breve y termina con [[A]], [[B]] o [[C]] si hay empate.\n\n"
            "N.º {k}: {question}\n[Respuesta 1] {answer}\n[Respuesta 2] {answer_b}",
            "Pregunta {k}: {question}\nPrimera respuesta: {answer}\nSegunda respuesta: {answer_b}\n¿Cuál es mejor, la primera o la segunda?",
        ],
        candidates=[
            "En esencia, lo que hay que saber sobre {topic} se reduce a la interacción de unos pocos principios básicos; "
            "la explicación de los libros de texto es correcta en general, aunque falla en casos extremos.",
            "Todo lo que sabemos sobre {topic} lo descubrió en los años noventa un único investigador; antes nadie lo había estudiado.",
            "Sobre {topic} hay muchas opiniones y depende mucho del caso, así que no se puede decir nada concreto.",
            "Resumiendo, en cuanto a {topic} importan tres cosas: la definición, cómo se mide y cuándo deja de cumplirse. Vamos por partes.",
            "Todo lo que se afirma sobre {topic} se cumple siempre, sin ninguna excepción.",
            "Un error habitual con {topic} es confundir causa y efecto; con un ejemplo concreto se ve que el orden es el contrario.",
            "Lo siento, no puedo responder preguntas sobre {topic}.",
        ],
    ),
    "de": _gp(
        "de",
        pointwise=[
            "Bewerte die folgende Antwort auf einer Skala von 1 bis 10 hinsichtlich Korrektheit, Vollständigkeit und Verständlichkeit. "
            "Gib nur die Zahl aus.\n\nFrage {k}: {question}\nAntwort: {answer}",
            "Du bist ein unparteiischer Gutachter. Prüfe, ob die Antwort die Frage richtig beantwortet. Begründe kurz und schreibe "
            "in die letzte Zeile „Urteil: richtig“ oder „Urteil: falsch“.\n\nAufgabe {k}\nFrage: {question}\nAntwort des Assistenten: {answer}",
            "Benote die Antwort wie eine Lehrkraft mit einer Schulnote von 1 (sehr gut) bis 6 (ungenügend) und nenne in einem Satz "
            "den Hauptgrund für Abzüge.\nAufgabe Nr. {k}: {question}\nSchülerantwort: {answer}",
            "Gehe die Antwort anhand dieser Kriterien durch und vermerke jeweils ja/nein: sachlich korrekt, beantwortet die eigentliche Frage, "
            "vollständig, klar formuliert, unbedenklich. Abschließend: bestanden oder nicht bestanden.\n#{k}\nFrage: {question}\nAntwort: {answer}",
            "Gib ausschließlich JSON zurück: {{\"punkte\": 0-100, \"fehler\": [\"...\"], \"kommentar\": \"...\"}}\n"
            "Beispiel {k}\nNutzeranfrage: {question}\nModellantwort: {answer}",
            "Wie gut ist diese Antwort? 1–5 Sterne, bitte mit kurzer Begründung.\n{k}) {question}\n→ {answer}",
        ],
        pairwise=[
            "Welche der beiden Antworten beantwortet die Frage besser? Antworte nur mit „A“, „B“ oder „unentschieden“.\n\n"
            "Paar {k}\nFrage: {question}\nAntwort A: {answer}\nAntwort B: {answer_b}",
            "Du bist ein neutraler Schiedsrichter. Lass dich weder von der Länge der Antworten noch von ihrer Reihenfolge beeinflussen; "
            "entscheidend sind Richtigkeit und Nutzen. Vergleiche kurz und schließe mit [[A]], [[B]] oder [[C]] bei Gleichstand.\n\n"
            "Nr. {k}: {question}\n[Antwort 1] {answer}\n[Antwort 2] {answer_b}",
            "Aufgabe {k}: {question}\nErste Antwort: {answer}\nZweite Antwort: {answer_b}\nWelche ist besser – die erste oder die zweite?",
        ],
        candidates=[
            "Im Kern lässt sich das Thema „{topic}“ durch das Zusammenspiel weniger Grundprinzipien erklären; "
            "die Lehrbuchdarstellung stimmt weitgehend, braucht aber in Grenzfällen Korrekturen.",
            "Das Thema „{topic}“ wurde in den 1990er-Jahren von einem einzigen Forscher entdeckt; vorher hatte sich niemand damit beschäftigt.",
            "Zu „{topic}“ gibt es viele Meinungen, das hängt stark vom Einzelfall ab, pauschal kann man nichts sagen.",
            "Kurz gesagt: Beim Thema „{topic}“ kommt es auf drei Dinge an – die Definition, die Messung und die Grenzen der Gültigkeit. "
            "Gehen wir sie der Reihe nach durch.",
            "Alles, was das Thema „{topic}“ betrifft, gilt immer und ohne jede Ausnahme.",
            "Ein häufiger Fehler beim Thema „{topic}“ ist, Ursache und Wirkung zu verwechseln; ein konkretes Beispiel zeigt, dass es umgekehrt ist.",
            "Tut mir leid, zum Thema „{topic}“ kann ich keine Auskunft geben.",
        ],
    ),
    "fr": _gp(
        "fr",
        pointwise=[
            "Évalue la réponse suivante sur une échelle de 1 à 10 en tenant compte de l'exactitude, de l'exhaustivité et de la clarté. "
            "Donne uniquement le chiffre.\n\nQuestion {k} : {question}\nRéponse : {answer}",
            "Tu es un évaluateur impartial. Indique si la réponse répond correctement à la question. Justifie brièvement, puis écris "
            "sur la dernière ligne « Verdict : correct » ou « Verdict : incorrect ».\n\nExercice n° {k}\nQuestion : {question}\n"
            "Réponse de l'assistant : {answer}",
            "Corrige cette copie et attribue-lui une note sur 20, avec une appréciation d'une ligne.\nExercice {k}. {question}\n"
            "Réponse de l'élève : {answer}",
            "Vérifie la réponse selon cette grille et note oui/non pour chaque critère : exactitude des faits, pertinence, complétude, "
            "clarté, absence de contenu nuisible. Conclus par CONFORME ou NON CONFORME.\n#{k}\nQuestion : {question}\nRéponse : {answer}",
            "Renvoie seulement un objet JSON : {{\"note\": 0-100, \"erreurs\": [\"...\"], \"commentaire\": \"...\"}}\n"
            "Échantillon {k}\nDemande de l'utilisateur : {question}\nRéponse du modèle : {answer}",
            "Elle vaut quoi, cette réponse ? De 1 à 5 étoiles, avec une phrase d'explication.\n{k}) {question}\n→ {answer}",
        ],
        pairwise=[
            "Laquelle des deux réponses répond le mieux à la question ? Réponds seulement « A », « B » ou « égalité ».\n\n"
            "Paire {k}\nQuestion : {question}\nRéponse A : {answer}\nRéponse B : {answer_b}",
            "Tu joues le rôle d'un arbitre neutre. Ne te laisse influencer ni par la longueur des réponses ni par leur ordre de présentation ; "
            "seules comptent l'exactitude et l'utilité. Compare brièvement et termine par [[A]], [[B]] ou [[C]] en cas d'égalité.\n\n"
            "N° {k} : {question}\n[Réponse 1] {answer}\n[Réponse 2] {answer_b}",
            "Question {k} : {question}\nPremière réponse : {answer}\nSeconde réponse : {answer_b}\n"
            "Laquelle est la meilleure, la première ou la seconde ?",
        ],
        candidates=[
            "Sur le fond, ce qu'il faut savoir concernant {topic} tient à l'interaction de quelques principes de base ; "
            "l'explication des manuels est globalement juste, mais doit être nuancée dans les cas limites.",
            "Concernant {topic}, tout a été découvert dans les années 1990 par un seul chercheur ; personne ne s'y intéressait avant.",
            "Sur {topic}, il y a beaucoup d'avis différents, ça dépend vraiment des cas, on ne peut rien affirmer.",
            "En résumé, pour {topic} il faut retenir trois choses : la définition, la façon de mesurer et les limites de validité. "
            "Voyons-les dans l'ordre.",
            "Tout ce qui concerne {topic} est vrai dans tous les cas, sans exception.",
            "Une erreur fréquente concernant {topic} consiste à confondre cause et effet ; un exemple concret montre que l'ordre est inverse.",
            "Désolé, je ne peux pas répondre aux questions portant sur {topic}.",
        ],
    ),
}


_ALT = {
    "en": _gp(
        "en",
        pointwise=[
            "### Instruction\nYou are a reward-model annotator. Assign the response a quality rating between 1 (unusable) and 7 (excellent).\n"
            "### Task {k}\n{question}\n### Candidate\n{answer}\n### Rating (integer only):",
            "Does the candidate answer solve the task? Respond PASS or FAIL, then one sentence saying why.\n---\n"
            "task_id: {k}\ntask: {question}\ncandidate: {answer}",
            "Score the reply for helpfulness (0-10), honesty (0-10) and harmlessness (0-10). "
            "Format: helpfulness=N; honesty=N; harmlessness=N\n\n<prompt id=\"{k}\">{question}</prompt>\n<reply>{answer}</reply>",
            "Please read the exchange below and tell me, as a domain expert, how much of the answer you would trust. "
            "Give a percentage from 0 to 100 and list any errors you spot.\n\n({k}) {question}\n→ {answer}",
            "Rubric: 4 = fully correct and well explained; 3 = correct but thin; 2 = partially correct; 1 = wrong or off-topic; "
            "0 = refuses or harmful. Give the rubric level and nothing else.\nEntry {k} | Q: {question} | A: {answer}",
            "Critique first, verdict last. Point out factual mistakes, missing steps and unclear wording in the answer, "
            "then end with a line 'Final grade: X/10'.\n\nQuestion no. {k}\n{question}\n\nAnswer under review\n{answer}",
            "Output a single JSON object {{\"id\": {k}, \"label\": \"good\" or \"bad\", \"confidence\": 0.0-1.0}} for this QA pair.\n"
            "Q: {question}\nA: {answer}",
        ],
        pairwise=[
            "Preference data, pair {k}.\nPrompt: {question}\n(1) {answer}\n(2) {answer_b}\n"
            "Which completion would a careful human rater prefer? Answer 1 or 2. If they are equally good, answer 0.",
            "Below are two candidate replies to the same request. Weigh correctness first, then usefulness, then style. "
            "Write a two-sentence comparison and end with 'Preferred: A', 'Preferred: B' or 'Preferred: neither'.\n\n"
            "Request ({k}): {question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "Rank these two answers from best to worst. Output e.g. \"B > A\" or \"A = B\".\n#{k} {question}\nA) {answer}\nB) {answer_b}",
            "Give each answer a 1-10 score, then say which wins.\nQuestion {k}: {question}\nAnswer A: {answer}\nAnswer B: {answer_b}\n"
            "Format: A=<score>, B=<score>, winner=<A|B|tie>",
        ],
        candidates=[
            "Short answer: yes, the usual explanation of {topic} holds, with two well-known exceptions.",
            "According to a 2031 study, everything we knew about {topic} has been disproven.",
            "The standard explanation of {topic} has three stages; the second is the one students mix up, so it's worth working one example.",
            "Just look up {topic} on Wikipedia, it's all there.",
            "Although it is often presented as settled, the evidence on {topic} is mixed, and a careful answer separates "
            "what is established from what is debated.",
            "Both statements in the question about {topic} are correct, because they mean the same thing.",
            "The most intuitive way into {topic} is through a conservation law: write down one equation and the rest follows from it.",
        ],
    ),
    "zh": _gp(
        "zh",
        pointwise=[
            "【角色】你是奖励模型训练数据的标注员。\n【任务】阅读用户指令和模型输出，给出1-7分的质量评分（1=完全不可用，7=非常出色）。\n"
            "【编号】{k}\n【指令】{question}\n【输出】{answer}\n【评分】（只填整数）：",
            "看看这个答案能不能解决问题，输出“通过”或“不通过”，再附一句理由。\n---\nid: {k}\n题目: {question}\n待评答案: {answer}",
            "请分别从有用性、诚实性、无害性三个维度打分（各0-10分），输出格式：有用性=N；诚实性=N；无害性=N\n"
            "<问题 序号=\"{k}\">{question}</问题>\n<回复>{answer}</回复>",
            "先挑错，再打分：指出回答中的事实错误、遗漏的步骤和表述不清之处，最后单独一行写“最终得分：X/100”。\n\n"
            "问题{k}\n{question}\n\n待评回答\n{answer}",
            "评分档位：A=完全正确且解释充分；B=正确但过于简略；C=部分正确；D=错误、答非所问、拒答或有害。只输出档位字母。\n"
            "条目{k}｜问：{question}｜答：{answer}",
            "只输出一个JSON对象：{{\"id\": {k}, \"标签\": \"好\"或\"差\", \"置信度\": 0到1之间的小数}}\n问：{question}\n答：{answer}",
        ],
        pairwise=[
            "偏好数据 第{k}对\n提示：{question}\n(1) {answer}\n(2) {answer_b}\n细心的人工标注员会更喜欢哪一个？回答1或2；如果两者一样好，回答0。",
            "以下是针对同一请求的两个候选回复。先看对不对，再看有没有用，最后看文笔。用两句话比较，"
            "然后以“偏好：A”“偏好：B”或“偏好：无”结尾。\n请求（{k}）：{question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "两个答案各打1-10分，再说哪个胜出。\n题{k}：{question}\n答案甲：{answer}\n答案乙：{answer_b}\n格式：甲=分数，乙=分数，胜者=甲/乙/平",
        ],
        candidates=[
            "结论是：关于{topic}的通常解释是成立的，只有两个公认的例外。",
            "2031年的一项研究已经彻底推翻了人们对{topic}的全部认识。",
            "{topic}的标准解释分为三个阶段，第二阶段最容易混淆，建议结合一道例题来理解。",
            "{topic}你去百度百科查一下就行，上面都有。",
            "虽然{topic}常被当作定论，但实际证据并不一致，好的回答应该分清哪些已被证实、哪些仍有争议。",
            "题目中关于{topic}的两种说法都对，因为它们其实是一个意思。",
            "理解{topic}最直观的方式是从守恒的角度出发：列出一个方程，其余结论都能由此推出。",
        ],
    ),
    "ja": _gp(
        "ja",
        pointwise=[
            "# 指示\nあなたは報酬モデル学習用データのアノテーターです。以下の応答の品質を1（使い物にならない）〜7（非常に優秀）で採点してください。\n"
            "# ID\n{k}\n# ユーザー入力\n{question}\n# モデル出力\n{answer}\n# スコア（整数のみ）",
            "この回答で問題は解決できていますか？「OK」か「NG」で答え、理由を一文添えてください。\n---\nタスク{k}｜{question}\n候補回答｜{answer}",
            "有用性・誠実さ・無害性をそれぞれ0〜10点で評価し、<評価>有用性:N 誠実さ:N 無害性:N</評価> の形で出力してください。\n"
            "<質問 id=\"{k}\">{question}</質問>\n<応答>{answer}</応答>",
            "まず添削、最後に点数。回答の事実誤り・抜けている手順・分かりにくい表現を指摘し、最終行に「最終評価：X/10」と書くこと。\n\n"
            "［{k}］{question}\n\n▼ 評価対象の回答\n{answer}",
            "評価基準：4＝完全に正しく説明も十分／3＝正しいが説明不足／2＝一部のみ正しい／1＝誤り・的外れ／0＝回答拒否または有害。"
            "該当する数字だけを返してください。\n項目{k}　質問：{question}　回答：{answer}",
            "◎（申し分ない）・○（おおむね良い）・△（問題あり）・×（不適切）のうち、この回答に当てはまる記号を一つだけ書いてください。\n"
            "（{k}）{question}\n→ {answer}",
        ],
        pairwise=[
            "選好データ作成　ペア{k}\nプロンプト：{question}\n(1) {answer}\n(2) {answer_b}\n"
            "注意深い人間の評価者ならどちらを好みますか。1か2で答え、同程度なら0としてください。",
            "同じ依頼への2つの応答です。正確さ→有用さ→文章の質の順で重視し、2文で比較したうえで「優位：A」「優位：B」「優劣なし」のいずれかで締めてください。\n"
            "依頼（{k}）：{question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "2つの回答にそれぞれ10点満点で点をつけ、勝者を決めてください。出力例：A=7, B=5, 勝者=A\n#{k} {question}\nA）{answer}\nB）{answer_b}",
        ],
        candidates=[
            "結論から言うと、{topic}の一般的な説明は基本的に正しいのですが、よく知られた例外が二つあります。",
            "2031年の研究で、{topic}に関するこれまでの知見はすべて否定されました。",
            "{topic}の標準的な説明は三段階に分かれます。二段階目がよく混同されるので、例題を一つ解いてみるのがおすすめです。",
            "{topic}ならウィキペディアを見れば全部書いてありますよ。",
            "{topic}は定説のように紹介されがちですが、実際の証拠は一様ではなく、どこまでが確立しているかを区別して説明すべきです。",
            "質問文の二つの主張はどちらも正しいです。{topic}ではこの二つは同じ意味だからです。",
            "{topic}は保存則の観点から考えると直感的に理解できます。式を一つ立てれば、残りはそこから導けます。",
        ],
    ),
    "ko": _gp(
        "ko",
        pointwise=[
            "### 지시\n당신은 보상 모델 학습 데이터를 만드는 라벨러입니다. 아래 응답의 품질을 1점(사용 불가)부터 7점(매우 우수)까지 매기세요.\n"
            "### 항목 {k}\n{question}\n### 후보 응답\n{answer}\n### 점수 (정수만):",
            "이 답으로 문제가 해결됩니까? 통과/불통과로 답하고 이유를 한 문장 덧붙이세요.\n---\ntask {k} | {question}\n후보 | {answer}",
            "유용성(0-10), 정직성(0-10), 무해성(0-10)을 각각 채점해 다음 형식으로 출력하세요: 유용성=N; 정직성=N; 무해성=N\n"
            "<질문 번호=\"{k}\">{question}</질문>\n<응답>{answer}</응답>",
            "먼저 첨삭하고 마지막에 점수를 주세요. 사실 오류, 빠진 단계, 모호한 표현을 지적한 다음 마지막 줄에 '최종 점수: X/10'이라고 쓰세요.\n\n"
            "질문 {k}\n{question}\n\n검토할 답변\n{answer}",
            "이 답변을 우수/보통/미흡 중 하나로 분류하세요. 사실 오류가 하나라도 있거나 답변을 거부했다면 미흡입니다. 등급만 쓰세요.\n"
            "항목 {k} ▷ 질문: {question} ▷ 답변: {answer}",
            "이 질의응답 쌍에 대해 JSON 하나만 출력하세요: {{\"id\": {k}, \"label\": \"좋음\" 또는 \"나쁨\", \"확신도\": 0~1 사이 값}}\n"
            "질문: {question}\n답변: {answer}",
        ],
        pairwise=[
            "선호 데이터 {k}번 쌍\n프롬프트: {question}\n(1) {answer}\n(2) {answer_b}\n"
            "꼼꼼한 사람 평가자라면 어느 쪽을 고를까요? 1 또는 2로 답하고, 둘이 비슷하면 0이라고 답하세요.",
            "같은 요청에 대한 두 후보 응답입니다. 정확성을 가장 중시하고, 그다음 실용성, 마지막으로 문체를 보세요. "
            "두 문장으로 비교한 뒤 '선호: A', '선호: B', '선호: 없음' 중 하나로 마무리하세요.\n요청({k}): {question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "두 답변에 각각 10점 만점으로 점수를 주고 승자를 정하세요. 출력 예: A=7, B=5, 승자=A\n#{k} {question}\nA) {answer}\nB) {answer_b}",
        ],
        candidates=[
            "결론부터 말하면 {topic}에 대한 통상적인 설명은 대체로 맞지만, 널리 알려진 예외가 두 가지 있습니다.",
            "2031년 연구에서 {topic}에 관해 알려진 내용은 모두 반증되었습니다.",
            "{topic}의 표준 설명은 세 단계로 나뉩니다. 두 번째 단계를 가장 많이 헷갈리므로 예제를 하나 풀어 보는 것이 좋습니다.",
            "{topic}에 대해서는 위키백과에 다 나와 있으니 찾아보세요.",
            "{topic}의 경우 정설처럼 소개되지만 실제 근거는 엇갈리므로, 어디까지가 확립된 내용인지 구분해서 설명해야 합니다.",
            "질문의 두 주장은 모두 맞습니다. {topic}에서는 두 표현이 같은 뜻이기 때문입니다.",
            "{topic}의 원리는 보존 법칙의 관점에서 직관적으로 이해할 수 있습니다. 식 하나만 세우면 나머지는 거기서 유도됩니다.",
        ],
    ),
    "ru": _gp(
        "ru",
        pointwise=[
            "### Инструкция\nТы — разметчик данных для обучения модели вознаграждения. Поставь ответу оценку качества "
            "от 1 (непригоден) до 7 (превосходно).\n### Пример {k}\n{question}\n### Ответ-кандидат\n{answer}\n### Оценка (только целое число):",
            "Решает ли этот ответ задачу? Напиши ПРИНЯТО или ОТКЛОНЕНО и одну фразу с причиной.\n---\nid: {k}\nзадача: {question}\nкандидат: {answer}",
            "Выставь три балла от 0 до 10: полезность, честность, безвредность. Формат строки: полезность=N; честность=N; безвредность=N\n"
            "<вопрос id=\"{k}\">{question}</вопрос>\n<ответ>{answer}</ответ>",
            "Сначала рецензия, потом оценка. Перечисли фактические ошибки, пропущенные шаги и неясные формулировки, "
            "а в конце отдельной строкой: «Итоговая оценка: X из 5».\n\nВопрос {k}\n{question}\n\nРецензируемый ответ\n{answer}",
            "Рубрика: 4 — полностью верно и хорошо объяснено; 3 — верно, но скупо; 2 — частично верно; 1 — неверно или не по теме; "
            "0 — отказ или вредный контент. Выведи только номер уровня.\nЗапись {k} | В: {question} | О: {answer}",
            "Как специалист в этой области, насколько бы ты доверял такому ответу? Укажи уровень доверия в процентах "
            "и перечисли замеченные ошибки.\n({k}) {question}\n→ {answer}",
        ],
        pairwise=[
            "Данные предпочтений, пара {k}.\nЗапрос: {question}\n(1) {answer}\n(2) {answer_b}\n"
            "Какой вариант выбрал бы внимательный асессор? Ответь 1 или 2; если они одинаково хороши — 0.",
            "Ниже два варианта ответа на один и тот же запрос. В первую очередь важна правильность, затем польза, затем стиль. "
            "Сравни их в двух предложениях и закончи строкой «Предпочтение: A», «Предпочтение: B» или «Предпочтение: нет».\n"
            "Запрос ({k}): {question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "Оцени каждый ответ по 10-балльной шкале и назови победителя. Пример вывода: A=7, B=5, победитель=A\n"
            "#{k} {question}\nA) {answer}\nB) {answer_b}",
        ],
        candidates=[
            "Короткий ответ: да, общепринятое объяснение темы «{topic}» верно, но есть два хорошо известных исключения.",
            "Согласно исследованию 2031 года, прежние представления по теме «{topic}» полностью опровергнуты.",
            "Стандартное объяснение темы «{topic}» состоит из трёх этапов; второй чаще всего путают, поэтому полезно разобрать пример.",
            "По теме «{topic}» всё есть в Википедии, посмотрите там.",
            "Хотя тему «{topic}» часто подают как решённую, данные неоднозначны, и хороший ответ должен разделять установленное и спорное.",
            "Оба утверждения из вопроса по теме «{topic}» верны, потому что означают одно и то же.",
            "Интуитивно тему «{topic}» проще всего понять через закон сохранения: достаточно записать одно уравнение, остальное следует из него.",
        ],
    ),
    "es": _gp(
        "es",
        pointwise=[
            "[INSTRUCCIONES]\nEres anotador de datos para entrenar un modelo de recompensa. Califica la calidad de la respuesta "
            "de 1 (inservible) a 7 (excelente).\n[ID] {k}\n[ENTRADA] {question}\n[SALIDA DEL MODELO] {answer}\n[CALIFICACIÓN — solo un entero]:",
            "¿Resuelve esta respuesta la tarea? Contesta VÁLIDA o NO VÁLIDA y añade una frase con el motivo.\n---\n"
            "tarea_{k}: {question}\ncandidata: {answer}",
            "Puntúa de 0 a 10 la utilidad, la honestidad y la inocuidad de la respuesta. Formato: utilidad=N | honestidad=N | inocuidad=N\n"
            "<consulta n=\"{k}\">{question}</consulta>\n<respuesta>{answer}</respuesta>",
            "Primero la crítica y después la nota: señala errores de contenido, pasos que faltan y frases poco claras, "
            "y cierra con una línea «Nota final: X/10» (admite un decimal).\n\nCaso {k}\n{question}\n\nRespuesta a revisar\n{answer}",
            "Rúbrica — 4: correcta y bien explicada; 3: correcta pero escueta; 2: parcialmente correcta; 1: errónea o fuera de tema; "
            "0: se niega a responder o es dañina. Escribe solo el nivel.\nEntrada {k} · P: {question} · R: {answer}",
            "Como experto en la materia, ¿cuánto te fiarías de esta respuesta? Da un porcentaje de confianza y enumera los errores que veas.\n"
            "({k}) {question}\n» {answer}",
        ],
        pairwise=[
            "Datos de preferencia, par {k}.\nInstrucción: {question}\n(1) {answer}\n(2) {answer_b}\n"
            "¿Qué respuesta preferiría un evaluador humano cuidadoso? Responde 1 o 2; si son igual de buenas, 0.",
            "Dos respuestas candidatas a la misma petición. Prima la corrección, luego la utilidad y por último el estilo. "
            "Compáralas en dos frases y termina con «Preferida: A», «Preferida: B» o «Ninguna».\n"
            "Petición ({k}): {question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "Pon a cada respuesta una nota sobre 10 y di cuál gana. Ejemplo de salida: A=7, B=5, ganadora=A\n#{k} {question}\nA) {answer}\nB) {answer_b}",
        ],
        candidates=[
            "Respuesta corta: sí, la explicación habitual sobre {topic} es correcta, salvo dos excepciones bien conocidas.",
            "Un estudio de 2031 demostró que todo lo que se sabía sobre {topic} era falso.",
            "La explicación estándar sobre {topic} tiene tres fases; la segunda es la que más se confunde, así que conviene resolver un ejemplo.",
            "Busca «{topic}» en la Wikipedia, ahí viene todo.",
            "Aunque el tema suele presentarse como cerrado, sobre {topic} la evidencia es mixta y una buena respuesta debería separar "
            "lo establecido de lo discutible.",
            "Las dos afirmaciones de la pregunta sobre {topic} son ciertas, porque significan lo mismo.",
            "Lo más intuitivo es ver {topic} como un caso de conservación: planteas una ecuación y el resto se deduce de ella.",
        ],
    ),
    "de": _gp(
        "de",
        pointwise=[
            "## Anweisung\nDu annotierst Daten für das Training eines Belohnungsmodells. Vergib für die Antwort eine Qualitätsstufe "
            "von 1 (unbrauchbar) bis 7 (hervorragend).\n## Eintrag {k}\n{question}\n## Kandidat\n{answer}\n## Stufe (nur ganze Zahl):",
            "Löst diese Antwort die Aufgabe? Schreib OK oder NICHT OK und einen Satz zur Begründung.\n---\nid={k}\naufgabe={question}\nkandidat={answer}",
            "Vergib je 0 bis 10 Punkte für Hilfsbereitschaft, Ehrlichkeit und Harmlosigkeit. Format: hilfreich=N; ehrlich=N; harmlos=N\n"
            "<anfrage nr=\"{k}\">{question}</anfrage>\n<antwort>{answer}</antwort>",
            "Erst die Kritik, dann die Note: Benenne inhaltliche Fehler, fehlende Schritte und unklare Formulierungen und ende mit der Zeile "
            "„Endnote: X von 15 Punkten“.\n\nFall {k}\n{question}\n\nZu prüfende Antwort\n{answer}",
            "Bewertungsraster – 4: vollständig richtig und gut erklärt; 3: richtig, aber dünn; 2: teilweise richtig; 1: falsch oder am Thema vorbei; "
            "0: verweigert oder schädlich. Nur die Stufe ausgeben.\nDatensatz {k} · F: {question} · A: {answer}",
            "Als Fachperson: Wie weit würdest du dieser Antwort trauen? Nenne ein Vertrauen in Prozent und liste die Fehler auf, "
            "die dir auffallen.\n({k}) {question}\n» {answer}",
        ],
        pairwise=[
            "Präferenzdaten, Paar {k}.\nPrompt: {question}\n(1) {answer}\n(2) {answer_b}\n"
            "Welche Antwort würde ein sorgfältiger menschlicher Bewerter vorziehen? Antworte 1 oder 2, bei Gleichwertigkeit 0.",
            "Zwei Kandidatenantworten auf dieselbe Anfrage. Wichtig ist zuerst die Korrektheit, dann der Nutzen, zuletzt der Stil. "
            "Vergleiche sie in zwei Sätzen und ende mit „Bevorzugt: A“, „Bevorzugt: B“ oder „Keine“.\n"
            "Anfrage ({k}): {question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "Gib jeder Antwort eine Punktzahl von 1 bis 10 und küre den Sieger. Beispielausgabe: A=7, B=5, Sieger=A\n"
            "#{k} {question}\nA) {answer}\nB) {answer_b}",
        ],
        candidates=[
            "Kurze Antwort: Ja, die übliche Erklärung zum Thema {topic} stimmt, mit zwei bekannten Ausnahmen.",
            "Laut einer Studie von 2031 ist beim Thema {topic} alles widerlegt, was man zu wissen glaubte.",
            "Die Standarderklärung zum Thema {topic} hat drei Stufen; die zweite wird am häufigsten verwechselt, deshalb lohnt sich ein Rechenbeispiel.",
            "Schau einfach bei Wikipedia unter „{topic}“ nach, da steht alles.",
            "Auch wenn das Thema {topic} oft als geklärt gilt, ist die Beweislage gemischt; eine gute Antwort trennt Gesichertes von Umstrittenem.",
            "Beide Aussagen in der Frage zum Thema {topic} sind richtig, weil sie dasselbe bedeuten.",
            "Am anschaulichsten versteht man das Thema {topic} über einen Erhaltungssatz: eine Gleichung aufstellen, der Rest folgt daraus.",
        ],
    ),
    "fr": _gp(
        "fr",
        pointwise=[
            "=== Consigne ===\nTu annotes des données pour entraîner un modèle de récompense. Attribue à la réponse un niveau de qualité "
            "de 1 (inutilisable) à 7 (excellent).\n=== Entrée {k} ===\n{question}\n=== Candidate ===\n{answer}\n=== Niveau (entier uniquement) :",
            "Cette réponse résout-elle la tâche ? Écris VALIDE ou NON VALIDE, puis une phrase d'explication.\n---\n"
            "id : {k}\ntâche : {question}\ncandidate : {answer}",
            "Note de 0 à 10 l'utilité, l'honnêteté et l'innocuité de la réponse. Format : utilité=N ; honnêteté=N ; innocuité=N\n"
            "<demande n=\"{k}\">{question}</demande>\n<réponse>{answer}</réponse>",
            "D'abord la critique, ensuite la note : relève les erreurs de fond, les étapes manquantes et les formulations floues, "
            "puis termine par la ligne « Note finale : X/20 ».\n\nCas {k}\n{question}\n\nRéponse à examiner\n{answer}",
            "Barème — 4 : juste et bien expliqué ; 3 : juste mais succinct ; 2 : partiellement juste ; 1 : faux ou hors sujet ; "
            "0 : refus ou contenu nuisible. N'indique que le niveau.\nEntrée {k} · Q : {question} · R : {answer}",
            "En tant que spécialiste du domaine, quel crédit accorderais-tu à cette réponse ? Donne un pourcentage de confiance "
            "et liste les erreurs repérées.\n({k}) {question}\n» {answer}",
        ],
        pairwise=[
            "Données de préférence, paire {k}.\nPrompt : {question}\n(1) {answer}\n(2) {answer_b}\n"
            "Quelle réponse un évaluateur humain attentif préférerait-il ? Réponds 1 ou 2 ; si elles se valent, 0.",
            "Deux réponses candidates à la même demande. Priorité à la justesse, puis à l'utilité, enfin au style. "
            "Compare-les en deux phrases et conclus par « Préférée : A », « Préférée : B » ou « Aucune ».\n"
            "Demande ({k}) : {question}\n<A>{answer}</A>\n<B>{answer_b}</B>",
            "Donne une note sur 10 à chaque réponse et désigne la gagnante. Exemple de sortie : A=7, B=5, gagnante=A\n"
            "#{k} {question}\nA) {answer}\nB) {answer_b}",
        ],
        candidates=[
            "Réponse courte : oui, l'explication habituelle tient pour {topic}, à deux exceptions bien connues près.",
            "Une étude de 2031 a montré que tout ce qu'on croyait savoir sur {topic} était faux.",
            "Pour {topic}, l'explication classique comporte trois étapes ; la deuxième est la plus souvent mal comprise, d'où l'intérêt d'un exemple chiffré.",
            "Cherche « {topic} » sur Wikipédia, tout y est.",
            "On présente souvent le sujet comme réglé, mais sur {topic} les données sont partagées ; une bonne réponse distingue l'établi du débattu.",
            "Les deux affirmations de la question sur {topic} sont vraies, puisqu'elles veulent dire la même chose.",
            "Le plus intuitif, pour {topic}, est de raisonner en termes de conservation : on pose une équation et le reste en découle.",
        ],
    ),
}


#: vocabulary name -> language -> grading phrasing set.
GRADING_PHRASINGS: dict[str, dict[str, GradingPhrasing]] = {"default": _DEFAULT, "alt": _ALT}


def grading_phrasing(vocabulary: str, language: str) -> GradingPhrasing:
    """The grading phrasing set of ``language`` in the vocabulary named ``vocabulary``.

    Every template formats with the slots it documents, and every candidate with ``topic``:

    >>> all(t.format(question="Q", answer="A", answer_b="B", k=1) for v in GRADING_PHRASINGS.values() for p in v.values() for t in p.pointwise + p.pairwise)
    True
    >>> all(c.format(topic="T") for v in GRADING_PHRASINGS.values() for p in v.values() for c in p.candidates)
    True
    >>> set(GRADING_PHRASINGS["default"]) == set(GRADING_PHRASINGS["alt"]) == {"en", "zh", "ja", "ko", "ru", "es", "de", "fr"}
    True
    >>> grading_phrasing("alt", "de").language
    'de'
    """
    return GRADING_PHRASINGS[vocabulary][language]
