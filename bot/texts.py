"""Everything the bot says that does not come from the knowledge base, in French then English.

Plain French: short sentences, second person ("vous"), one idea per sentence.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "privacy": {
        "fr": "Je garde votre commune, votre âge, votre situation et votre besoin pour vous "
        "orienter, et les questions que je ne comprends pas pour m'améliorer. Tapez "
        "/mes_donnees pour les voir et /oubli pour tout effacer.",
        "en": "I keep your town, age, situation and need to guide you, and the questions I do "
        "not understand to improve. Type /mes_donnees to see them and /oubli to erase "
        "everything.",
    },
    "welcome": {
        "fr": "Bonjour ! Je vous aide à trouver une structure près de chez vous : emploi, "
        "mobilité, création d'activité. Dites-moi ce que vous cherchez et où vous habitez.",
        "en": "Hello! I help you find a local organisation: work, transport, starting a "
        "business. Tell me what you are looking for and where you live.",
    },
    "menu_prompt": {
        "fr": "Que cherchez-vous ?",
        "en": "What are you looking for?",
    },
    "help": {
        "fr": "Écrivez votre besoin avec vos mots, par exemple : « je cherche du travail à "
        "Nancy ».\nCommandes : /recommencer pour repartir de zéro, /conseiller pour parler à "
        "une personne, /mes_donnees pour voir ce que je garde, /oubli pour tout effacer.",
        "en": "Write what you need in your own words, for example: “I am looking for a job in "
        "Nancy”.\nCommands: /recommencer to start again, /conseiller to talk to a person, "
        "/mes_donnees to see what I keep, /oubli to erase everything.",
    },
    "restart": {
        "fr": "C'est reparti de zéro. Que cherchez-vous ?",
        "en": "Starting again. What are you looking for?",
    },
    "forgotten": {
        "fr": "J'ai effacé tout ce que je savais de vous. Vous pouvez recommencer quand vous "
        "voulez.",
        "en": "I erased everything I knew about you. You can start again whenever you want.",
    },
    "ask_commune": {
        "fr": "Dans quelle commune habitez-vous ? Vous pouvez écrire le nom ou le code postal.",
        "en": "Which town do you live in? You can write its name or postal code.",
    },
    "ask_commune_location": {
        "fr": "Vous pouvez aussi partager votre position.",
        "en": "You can also share your location.",
    },
    "commune_not_found": {
        "fr": "Je ne trouve pas cette commune. Pouvez-vous écrire son code postal ?",
        "en": "I cannot find this town. Can you write its postal code?",
    },
    "commune_which": {
        "fr": "Plusieurs communes correspondent. Laquelle est la vôtre ?",
        "en": "Several towns match. Which one is yours?",
    },
    "commune_none_of_these": {"fr": "Aucune de celles-ci", "en": "None of these"},
    "commune_noted": {"fr": "C'est noté : {commune}.", "en": "Noted: {commune}."},
    "ask_age": {"fr": "Quel âge avez-vous ?", "en": "How old are you?"},
    "age_not_understood": {
        "fr": "Je n'ai pas compris votre âge. Écrivez-le en chiffres, par exemple : 17.",
        "en": "I did not understand your age. Write it in numbers, for example: 17.",
    },
    "ask_situation": {
        "fr": "Quelle est votre situation ? Cela m'aide à voir ce qui vous est ouvert.",
        "en": "What is your situation? It helps me see what is open to you.",
    },
    "ask_rqth": {
        "fr": "Avez-vous une reconnaissance de travailleur handicapé (RQTH) ?",
        "en": "Do you have a disabled worker recognition (RQTH)?",
    },
    "ask_duree_sans_emploi": {
        "fr": "Depuis combien de temps êtes-vous sans emploi ?",
        "en": "How long have you been without a job?",
    },
    "ask_residence_depuis": {
        "fr": "Depuis combien de temps habitez-vous dans votre commune ?",
        "en": "How long have you lived in your town?",
    },
    "duration_not_understood": {
        "fr": "Je n'ai pas compris la durée. Écrivez par exemple : « 8 mois » ou « 2 ans ».",
        "en": "I did not understand the duration. Write for example: “8 months” or “2 years”.",
    },
    "skip": {"fr": "Je ne sais pas", "en": "I don't know"},
    "results_intro": {
        "fr": "Voici ce que je vous propose près de {commune} :",
        "en": "Here is what I suggest near {commune}:",
    },
    "results_widened": {
        "fr": "Rien à moins de {rayon} km. Voici les plus proches :",
        "en": "Nothing within {rayon} km. Here are the nearest:",
    },
    "results_none": {
        "fr": "Je ne connais pas de {kind} à moins de {max} km de {commune}.",
        "en": "I know no {kind} within {max} km of {commune}.",
    },
    "nearest_far": {
        "fr": "Le plus proche que je connais : {nom}, à {km}.",
        "en": "The nearest I know: {nom}, {km} away.",
    },
    "youth_first": {
        "fr": "D'abord, vous avez entre 16 et 25 ans : la {nom} vous accompagne, avec le Contrat "
        "d'engagement jeune (CEJ).",
        "en": "First, you are 16 to 25: the {nom} supports you, with the youth commitment "
        "contract (CEJ).",
    },
    "second_need": {
        "fr": "Vous parlez aussi de : {besoin}. Je peux vous orienter aussi pour cela.",
        "en": "You also mention: {besoin}. I can guide you for that too.",
    },
    "thanks_reply": {
        "fr": "Avec plaisir ! Je reste là si vous avez une autre question.",
        "en": "You are welcome! I am here if you have another question.",
    },
    "facts_noted": {"fr": "C'est noté.", "en": "Noted."},
    "hours_open_now": {"fr": "ouvert en ce moment", "en": "open now"},
    "hours_open_until": {
        "fr": "ouvert aujourd'hui jusqu'à {heure}",
        "en": "open today until {heure}",
    },
    "hours_opens_today": {
        "fr": "fermé pour l'instant, ouvre à {heure}",
        "en": "closed now, opens at {heure}",
    },
    "hours_closed_opens": {
        "fr": "fermé aujourd'hui, ouvre {jour} à {heure}",
        "en": "closed today, opens {jour} at {heure}",
    },
    "hours_closed": {"fr": "fermé en ce moment", "en": "closed at the moment"},
    "tomorrow": {"fr": "demain", "en": "tomorrow"},
    "season_months": {"fr": "ouvert de {de} à {a}", "en": "runs from {de} to {a}"},
    "season_dates": {"fr": "ouvert du {du} au {au}", "en": "runs from {du} to {au}"},
    "apply_online": {"fr": "Inscription en ligne : {lien}", "en": "Sign up online: {lien}"},
    "apply_phone": {"fr": "Vous pouvez appeler le {tel}.", "en": "You can call {tel}."},
    "apply_email": {"fr": "Vous pouvez écrire à {courriel}.", "en": "You can write to {courriel}."},
    "apply_in_person": {
        "fr": "Vous pouvez vous présenter sur place.",
        "en": "You can go there in person.",
    },
    "to_get_in": {"fr": "Pour y entrer", "en": "How to get in"},
    "conditions": {"fr": "Conditions", "en": "Conditions"},
    "cost": {"fr": "Coût", "en": "Cost"},
    "free": {"fr": "gratuit", "en": "free"},
    "paid": {"fr": "payant", "en": "not free"},
    "accessibility": {"fr": "Accessibilité", "en": "Accessibility"},
    "remote_service": {
        "fr": "Service à distance (téléphone ou en ligne).",
        "en": "Remote service (phone or online).",
    },
    "which_one": {"fr": "Pour laquelle ?", "en": "For which one?"},
    "unknown_address": {
        "fr": "Je n'ai pas son adresse. Appelez-la ou demandez à votre référent.",
        "en": "I do not have its address. Call it or ask your adviser.",
    },
    "unknown_phone": {
        "fr": "Je n'ai pas son numéro. Votre référent peut vous le donner.",
        "en": "I do not have its number. Your adviser can give it to you.",
    },
    "unknown_hours": {
        "fr": "Je ne connais pas ses horaires. Appelez avant d'y aller.",
        "en": "I do not know its opening hours. Call before you go.",
    },
    "unknown_cost": {
        "fr": "Je ne sais pas si c'est payant. Demandez-le quand vous appelez.",
        "en": "I do not know if it costs something. Ask when you call.",
    },
    "distance_from": {"fr": "À {km} de {commune}.", "en": "{km} from {commune}."},
    "no_bus_data": {
        "fr": "Je ne connais pas les bus et les trains. Une plateforme mobilité peut chercher "
        "le trajet avec vous.",
        "en": "I do not know the buses and trains. A mobility platform can look for the way "
        "with you.",
    },
    "more_info_on": {"fr": "Plus d'infos sur le {n}", "en": "More about number {n}"},
    "days_range": {"fr": "du {de} au {a}", "en": "{de} to {a}"},
    "you_told_me": {"fr": "Vous m'avez dit : {what}.", "en": "You told me: {what}."},
    "years_months": {"fr": "{y} ans et {m} mois", "en": "{y} years and {m} months"},
    "years": {"fr": "{y} ans", "en": "{y} years"},
    "none_of_these_situations": {"fr": "Aucune de celles-ci", "en": "None of these"},
    "results_none_referent": {
        "fr": "Votre référent peut chercher avec vous : {referent}.",
        "en": "Your adviser can look with you: {referent}.",
    },
    "example_flag": {"fr": "fiche d'exemple", "en": "example record"},
    "how_direct": {"fr": "Vous pouvez y aller directement", "en": "You can go directly"},
    "how_referent": {
        "fr": "Passez par votre référent",
        "en": "Go through your adviser",
    },
    "how_direct_or_referent": {
        "fr": "Vous pouvez y aller directement, ou passer par votre référent",
        "en": "You can go directly, or through your adviser",
    },
    "why": {"fr": "Pourquoi", "en": "Why"},
    "you_said": {"fr": "vous m'avez dit : {what}.", "en": "you told me: {what}."},
    "prescreen_update": {
        "fr": "Merci. Pour les structures proposées près de {commune} :",
        "en": "Thank you. For the organisations suggested near {commune}:",
    },
    "in_commune": {"fr": "à {commune}", "en": "in {commune}"},
    "who_decides": {"fr": "Qui décide", "en": "Who decides"},
    "to_check": {
        "fr": "À vérifier avec la structure ou votre référent.",
        "en": "To be checked with the organisation or your adviser.",
    },
    "decides": {"fr": "C'est {qui} qui décide.", "en": "{qui} decides."},
    "more": {"fr": "Voir d'autres", "en": "See more"},
    "no_more": {
        "fr": "Je n'ai pas d'autre structure à vous proposer pour ce besoin.",
        "en": "I have no other organisation to suggest for this need.",
    },
    "other_need": {"fr": "Autre besoin", "en": "Something else"},
    "human": {"fr": "Parler à un conseiller", "en": "Talk to an adviser"},
    "not_understood": {
        "fr": "Je n'ai pas compris, désolé. Je note votre question pour l'améliorer. "
        "Choisissez un sujet, ou demandez à parler à un conseiller.",
        "en": "Sorry, I did not understand. I note your question to improve. Pick a topic, "
        "or ask to talk to an adviser.",
    },
    "did_you_mean": {"fr": "Vouliez-vous dire :", "en": "Did you mean:"},
    "none_of_these": {"fr": "Autre chose", "en": "Something else"},
    "faq_source": {"fr": "Source", "en": "Source"},
    "urgence": {
        "fr": "Si vous êtes en danger ou sans abri ce soir, appelez tout de suite :",
        "en": "If you are in danger or without shelter tonight, call now:",
    },
    "urgence_after": {
        "fr": "Ces appels sont gratuits. Je reste là si vous voulez ensuite parler de "
        "travail ou de mobilité.",
        "en": "These calls are free. I am here if you then want to talk about work or transport.",
    },
    "unsupported": {
        "fr": "Je ne sais lire que du texte et des positions pour l'instant. Pouvez-vous "
        "écrire votre message ?",
        "en": "For now I can only read text and locations. Can you write your message?",
    },
    "failure": {
        "fr": "Désolé, j'ai eu un problème. Votre conversation est gardée. Pouvez-vous "
        "réécrire votre message ?",
        "en": "Sorry, something went wrong. Your conversation is kept. Can you write your "
        "message again?",
    },
    "too_long": {
        "fr": "Votre message est très long. J'ai lu seulement le début.",
        "en": "Your message is very long. I only read the beginning.",
    },
    "referral_ok": {
        "fr": "Bienvenue ! Votre conseiller vous a envoyé ici (code {code}).",
        "en": "Welcome! Your adviser sent you here (code {code}).",
    },
    "referent_found": {
        "fr": "{kind} près de {commune} :",
        "en": "{kind} near {commune}:",
    },
    "referent_none": {
        "fr": "Je ne connais pas de {kind} près de {commune}. Un agent France Services peut "
        "vous renseigner.",
        "en": "I know no {kind} near {commune}. A France Services agent can tell you.",
    },
    "human_intro": {
        "fr": "Une personne peut vous aider.",
        "en": "A person can help you.",
    },
    "human_contact": {"fr": "Contact : {contact}", "en": "Contact: {contact}"},
    "human_referent": {
        "fr": "Près de chez vous : {referent}",
        "en": "Near you: {referent}",
    },
    "callback_offer": {"fr": "Être rappelé·e", "en": "Get a call back"},
    "callback_consent": {
        "fr": "Pour vous rappeler, je garde votre numéro de téléphone jusqu'à l'appel. "
        "Un conseiller du Département le verra. Vous êtes d'accord ?",
        "en": "To call you back, I keep your phone number until the call. An adviser of "
        "the Département will see it. Do you agree?",
    },
    "yes": {"fr": "Oui", "en": "Yes"},
    "no": {"fr": "Non", "en": "No"},
    "callback_ask_phone": {
        "fr": "Quel est votre numéro de téléphone ?",
        "en": "What is your phone number?",
    },
    "callback_bad_phone": {
        "fr": "Ce numéro ne semble pas correct. Écrivez 10 chiffres, par exemple 06 12 34 56 78.",
        "en": "This number does not look right. Write 10 digits, for example 06 12 34 56 78.",
    },
    "callback_done": {
        "fr": "C'est noté. Un conseiller va vous rappeler. Tapez /oubli pour annuler et "
        "effacer votre numéro.",
        "en": "Noted. An adviser will call you back. Type /oubli to cancel and erase your number.",
    },
    "callback_declined": {
        "fr": "D'accord, je ne garde pas votre numéro.",
        "en": "All right, I do not keep your number.",
    },
    "my_data_title": {"fr": "Ce que je garde sur vous :", "en": "What I keep about you:"},
    "my_data_nothing": {"fr": "Rien pour l'instant.", "en": "Nothing for now."},
    "my_data_why": {
        "fr": "Pourquoi : pour continuer la conversation et vous orienter. Rien n'est "
        "transmis à la CAF ni à France Travail. Tapez /oubli pour tout effacer.",
        "en": "Why: to continue the conversation and guide you. Nothing is sent to the CAF "
        "or France Travail. Type /oubli to erase everything.",
    },
    "label_commune": {"fr": "Commune", "en": "Town"},
    "label_age": {"fr": "Âge", "en": "Age"},
    "label_situation": {"fr": "Situation", "en": "Situation"},
    "label_need": {"fr": "Besoin", "en": "Need"},
    "label_sans_emploi": {"fr": "Sans emploi depuis", "en": "Without a job for"},
    "label_residence": {"fr": "Dans la commune depuis", "en": "In the town for"},
    "label_questions": {"fr": "Questions non comprises", "en": "Questions not understood"},
    "label_callbacks": {"fr": "Demandes de rappel", "en": "Call-back requests"},
    "label_referral": {"fr": "Code conseiller", "en": "Adviser code"},
    "months": {"fr": "{n} mois", "en": "{n} months"},
    "years_old": {"fr": "{n} ans", "en": "{n} years old"},
    "not_eligible_intro": {
        "fr": "{categorie} : ce n'est sans doute pas possible pour vous.",
        "en": "{categorie}: probably not possible for you.",
    },
    "alternatives": {
        "fr": "Voici d'autres pistes :",
        "en": "Here are other options:",
    },
    "tzcld_outside": {
        "fr": "Il n'y a pas de territoire zéro chômeur à {commune} d'après mes fiches.",
        "en": "There is no zero-long-term-unemployment territory in {commune} in my records.",
    },
    # --- counsellors, call-backs, admins (bot/conversation/acts/{referral,human,admin}.py) ---
    "privacy_code": {
        "fr": "Je garde aussi le code du conseiller qui vous a envoyé ici, pour compter les "
        "personnes venues par lui.",
        "en": "I also keep the code of the adviser who sent you here, to count the people who "
        "came through them.",
    },
    "referral_named": {
        "fr": "Bienvenue ! {accueil} vous a transmis ce lien (code {code}).",
        "en": "Welcome! {accueil} gave you this link (code {code}).",
    },
    "referral_sent_by": {
        "fr": "Votre conseiller ou conseillère de {structure}",
        "en": "Your adviser at {structure}",
    },
    "referral_kept": {
        "fr": "Je garde ce code pour compter les personnes venues par votre conseiller.",
        "en": "I keep this code to count the people who came through your adviser.",
    },
    "referral_see_need": {"fr": "Voir : {besoin}", "en": "See: {besoin}"},
    "callback_someone": {
        "fr": "Un conseiller du Département",
        "en": "An adviser of the Département",
    },
    "callback_consent_who": {
        "fr": "Pour qu'on vous recontacte, je garde votre numéro (ou cette conversation) et ce "
        "que vous m'avez dit, jusqu'à la fin de la demande. {who} le verra. Vous êtes "
        "d'accord ?",
        "en": "So that someone contacts you, I keep your number (or this chat) and what you "
        "told me, until the request is done. {who} will see it. Do you agree?",
    },
    "callback_ask_contact": {
        "fr": "Quel est votre numéro de téléphone ? Si vous préférez un message écrit, "
        "choisissez « Écrivez-moi ici ».",
        "en": "What is your phone number? If you prefer a written message, choose “Write to me "
        "here”.",
    },
    "callback_here": {"fr": "Écrivez-moi ici", "en": "Write to me here"},
    "callback_cancel": {"fr": "Annuler", "en": "Cancel"},
    "callback_done_phone": {
        "fr": "C'est noté. {who} va vous rappeler au {phone}, {delay}. Quand préférez-vous "
        "être appelé·e ? Tapez /oubli pour annuler et effacer votre numéro.",
        "en": "Noted. {who} will call you back on {phone}, {delay}. When do you prefer to be "
        "called? Type /oubli to cancel and erase your number.",
    },
    "callback_done_here": {
        "fr": "C'est noté. {who} va vous écrire ici, {delay}. Quand préférez-vous avoir le "
        "message ? Tapez /oubli pour annuler.",
        "en": "Noted. {who} will write to you here, {delay}. When do you prefer the message? "
        "Type /oubli to cancel.",
    },
    "moment_matin": {"fr": "Le matin", "en": "In the morning"},
    "moment_apres_midi": {"fr": "L'après-midi", "en": "In the afternoon"},
    "moment_indifferent": {"fr": "Peu importe", "en": "Any time"},
    "callback_moment_noted": {
        "fr": "Merci, c'est noté. Dans quelques jours, voulez-vous que je vous demande si cela "
        "vous a aidé ?",
        "en": "Thank you, noted. In a few days, may I ask you whether it helped?",
    },
    "callback_optin_yes": {
        "fr": "D'accord, je vous poserai la question dans quelques jours.",
        "en": "All right, I will ask you in a few days.",
    },
    "callback_optin_no": {
        "fr": "D'accord, je ne vous redemanderai rien.",
        "en": "All right, I will not ask you anything more.",
    },
    "callback_taken_phone": {
        "fr": "Bonne nouvelle : {who} a pris votre demande. Vous serez appelé·e au {phone}.",
        "en": "Good news: {who} took your request. You will be called on {phone}.",
    },
    "callback_taken_here": {
        "fr": "Bonne nouvelle : {who} a pris votre demande. Vous aurez un message ici.",
        "en": "Good news: {who} took your request. You will get a message here.",
    },
    "callback_message": {
        "fr": "Message de {who} :\n{message}",
        "en": "Message from {who}:\n{message}",
    },
    "callback_follow_up": {
        "fr": "Bonjour ! Un conseiller a traité votre demande de rappel. Est-ce que cela vous "
        "a aidé ?",
        "en": "Hello! An adviser handled your call-back request. Did it help you?",
    },
    "follow_up_yes": {
        "fr": "Merci ! Je suis content que cela vous ait aidé. Je reste là si besoin.",
        "en": "Thank you! I am glad it helped. I am here if you need.",
    },
    "follow_up_no": {
        "fr": "Merci de le dire. Vous pouvez redemander à être rappelé·e, ou chercher une "
        "autre structure avec moi.",
        "en": "Thank you for saying so. You can ask for a call back again, or look for another "
        "organisation with me.",
    },
    "admin_only": {
        "fr": "Cette commande est réservée aux administrateurs. Je peux vous aider à trouver "
        "une structure : dites-moi ce que vous cherchez.",
        "en": "This command is for admins. I can help you find an organisation: tell me what "
        "you are looking for.",
    },
}


def t(lang: str, key: str, **values: Any) -> str:
    entry = TEXTS[key]
    text = entry.get(lang) or entry["fr"]
    return text.format(**values) if values else text
