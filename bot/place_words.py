"""Word lists that keep ordinary French words from being read as commune names.

Used by `bot.places` (which names may be spotted in a message, which may be fuzzy-corrected).
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated string."""
    return frozenset(text.split())


# Function words: never a place on their own, even when a commune bears the name ("Y", "Eu").
GRAMMAR = _words(
    """
    a ai as au aux avec bien ca ce ces cet cette chez comme d dans de des du elle en est et eu
    ici il j je l la le les leur lui m ma mais me mes moi mon n ne ni nos nous on ou par pas
    plus pour qu que qui s sa sans se ses si son sur t ta te tes toi ton tout tu un une vers
    vos vous y
    """
)

# Everyday and domain words (work, training, benefits, SMS spelling) that a fuzzy search must
# never turn into a commune.
COMMON = _words(
    """
    accompagnement activite actuellement adresse aide aider aides aimerais alors allocation
    ameliorer ancien annee annees apprentissage argent association atelier attestation aujourd
    aussi autre autres avant avoir bafa bateau batiment beaucoup besoin bonjour bonsoir boulot
    boutique bureau cafe caisse candidature carte centre chantier chauffeur cherche chercher
    chomage chose cinq citoyen commerce comment compte conduire conseil conseiller contrat
    cooperative coucou cours creation cuisine cv demain demande depuis deux devenir diplome
    dossier droit droits ecole emploi employeur encore enfant enfants entreprise entretien
    envie espace essayer etre etudes faire famille femme formation france frere galere garage
    garde gens grand handicap heure heures homme insertion interim jardin jeune jeunes jour
    jours logement loyer lycee madame maintenant maison malade mairie manger menage merci metier
    mission mobilite moins monsieur moto niveau nouveau numero orientation papiers parce parler
    partir passer payer permis personne petit peut peux place plein pole possible pourquoi
    pouvoir premier prime projet quand quartier quoi rendez reponse restaurant retraite revenu
    salut sante savoir semaine service services seul seule social sociale solidaire solidarite
    souhaite stage structure suis taff taxi temps tous travail travailler trouver trucs vais
    vente veux ville voiture voudrais vraiment zone jcherche chui jsuis jveux jpeux svp stp mdr
    usine urgence fixe caravane soudeur soudure boulangerie boulanger couture cuisinier
    menuisier plombier peinture coiffure vendeur vendeuse caissiere magasin hopital clinique
    prison foyer colocation campagne montagne banlieue centre gare mer plage
    internet site appli application mail email telephone portable ordi ordinateur wifi
    facebook whatsapp telegram messenger resto restos
    """
)

# First names that are also commune names: in a message they are far more often people.
FIRST_NAMES = _words(
    """
    adrien agnes alain albert alexandre alice amand andre anne antoine arnaud aubin audrey
    augustin aurelien benoit bernard bruno camille catherine cecile celine charles christian
    christophe claire claude clement colette damien daniel david denis didier dominique eloi
    emile emilie eric etienne fabrice florent florentin francis francois frederic gabriel
    genevieve georges gerard germain germaine gilbert gilles guillaume helene henri hugo
    isabelle jacques jean jeanne jerome joseph jules julie julien julienne justin laurent lea
    leon louis louise luc lucas lucie marc marcel marguerite marie martin mathieu maurice
    michel nicolas noel olivier pascal patrick paul philippe pierre quentin raymond remi rene
    richard robert roger romain sebastien simon sophie stephane sylvain thierry thomas valentin
    vincent xavier yves
    """
)

# Words of a French lexicon that are also words of commune names (generated once from the
# Debian `wfrench` word list intersected with the gazetteer's name words; "saint" excluded).
LEXICON_IN_NAMES = _words(
    """
    a abbatial abbaye abbe abbesse abeille abondance abondant abries ac accueil achard achards
    acon acres adresse agenais agnat agneaux aigle aigre aigues aiguille aiguiller aiguilles
    aiguillon ail ailette aillant aillas ailles aime air aire aires aisy alaise albanais
    albigeois ales aligne alise allas allegre alles alleux allez alliat allier allies allons
    alloue alpes altier amadou amant ambon ambres ame ames amienois amont amour amure anche
    ancre andouille ange anges angle angles anglet angoisse angoumois annelles ans anse anses
    ante aout appelle appelles apre aquilin aramon arboras arbres arc arceau arche arches
    archeveque archipel arcon arcons arcs ardentes ardoise arene ares argent argentan argentat
    argentine arlesienne armagnac armes aronde arque arques arrentes arrets arrive
    arrondissement arroses ars art arts aspe asque asse assis athee attaques au aubaine aube
    aubette aubiers aubin aubois aucun auge augerons auges augustin aulx aumone aunes aurions
    aurons autels automne autruche auvent aux aval avant ave aven aveux avez avion aviron
    avirons avoine avoir avril axat ay azur baby bac baccarat bachant bachas bache bachot bacle
    baffe baguer bagues baie baignes bail baille baillon baillons bain bains bais baise baleine
    baleines ballee ballon ballons ballots ban banat bancs banne bannes bannieres bans bar
    barbant barbas barbe barcelonnette bard bardais barde bardes barges barils baron baronnie
    barques barrais barras barre barres barrez bars bas basse basses basset bassets bassins
    bastide bastille bat bataille batie baties baton batons bats baud bauge bauges baume baux
    bavent bayas baye bayons beat beau beaujolais beaupre beaux bec begard begues bel belle
    belles bellot belon belvedere benet benigne benin benite benoit benoite bergeres bernard
    berne bernes besace besaces besson bessons beton bettes bey biche biches bidon bief bielle
    bien biere bievre bigot bille billot binas bine bizou bizous blanc blanche blancs ble bles
    blet bleu blond bocage boesse boeuf boeufs bois boisseau boisseaux bon bondons bonhomme
    bonne bonnes bonnet bons bora bord bordas borde bordeaux bordel bordes bords boree borne
    bornes bort bosquets bosse bossee bossus bouc boucau bouchage boucherie bouchon boudes boue
    bouee bouge bouges bougon bouillant bouillante bouille bouillie bouillon boulange boule
    boulin boulon boulonnais boulot bouquet bourbon bourbonnais bourdon bourdonne bourdons bourg
    bourgogne bourgs bourguignon bourguignons bourre bourse boursieres bout bouteille bouteilles
    bouton boutonne bouvet brabant bran branche brancher branches brandon bras brasseuse brave
    braye breche breches breles bremes bren breteche breton brette brettes breves breviaires
    bride brides brie briffons brigue brillant brin bris broc brocs brosse brosses brou brouilla
    brousse brout broye broyes bru bruant bruche bruisse brulais brule brulee brunet brusque
    bruyere bruyeres bu bue buire buis buisson buissons bulle bulles bure burelles buron bus
    busque butin buttant cabanasse cabanes cabas cable cabris cagnes cagnotte cailla caille
    cailles caillot cailloux caisson calais cales calez calvados camarade cambe cambes cambrai
    came camelle camembert camp campagne campes camps canal canari cancale canche cannat canne
    cannelle canner cannes canon canton cap capelle captieux captif carcans cardan cardinal
    carne carnet carreau carrieres carry cars cascade cascades case cases casse casses cassis
    casson castel castels castine castres cause causse causses cavaillon cavalerie caves cayeux
    ce ceignes cele celle celles cellier celliers cendras cendre cene cent centenier centres
    cerbere cercles cercueil cerf cerfs cerise cerises cerisiers cesse cesseras cette chablais
    chablis chaine chainee chaise chaises chambertin chambre champ champagne champenoise
    champenoises champis champs chance change chanoines chant chanteau chanterelle chantes
    chanteurs chantilly chantre chapeau chapelle chapelles chapitre charbonnat charbonnier
    charbonnieres charge charite charme charmee charmes charron chars chartreuse chartreux
    chartrier chas chassant chasse chasselas chasses chat chataigneraie chatain chateau
    chateaubriant chateaux chatelain chatelaine chatre chatres chatte chaudes chaudiere chaudron
    chaufour chaume chaumes chaussee chauve chaux chef chemin cheminas cheminot cheminots chene
    chenes chenevieres chenille chenu cher cheres cheris cherre chetif chetive cheval chevalet
    chevaline chevelu chevennes chevillard cheville chevre chevreaux chevres chevreuil chevrier
    chevrieres chiche choisies choux choye chretien christ ciel cierge cierges cieux cigogne
    cinglais cinq cintrat cintre cire cires cirieres ciron citerne clair clam clan clans clapier
    clapiers claude clave clavette claviers clayette clef clefs clement clercs clisse clocher
    clochers cloitre clonas clos cloue cluse cluses coat cochere coeur cogna cognac cognat coin
    coinces coings collat colle collegien collet colline colombe colombes colombier colombiers
    colombine colonel colonne colons coltines combe combes comblanchien combles commanderie
    commune compas comporte compote comptes comtal comte comtesse concoures conde condom confort
    conge conie conne conques conquet cons conseillere consolation constant contamine contamines
    conte contes contre contres coq coquet coquette coquille cor corail corbeilles corbieres
    cordelle cordes cordiers cordon cordonnet cornac cornant cornas corne corneille corneilles
    cornet cornier cornus coron corps corvees cosse cote coteau coteaux cotes coti cottes
    couarde couches coudes coudons coudrais coudre couleuvre coulomb coulombs coulommiers
    coupelle cour courant courbe courbes courbette couronne cours course court courtes courtois
    coutais coutant couture coutures couvains couve couverte cramant cran crans creances creche
    creches creneaux crepin crepon cressonniere crete creuse creux crevant crique crise crisse
    croise croix crosses crottes croutes cubas cuillere cuire cuis cuise cula cultures cure
    cures cuvat cuve cuves cuvier d damas dame dames dan dangers dardez dauphin dauphine de
    debat debats degre demange deme demi demie denier denis depeint der derriere des desert
    deserts desir desirat desire desoeuvre dessous dessus detroit deuil deux devant deviat
    devise diamant diane dieu digne disse dit dive doigt dol dole dolent dolmen dom domaines don
    donjon dorat dore doree dorees dos douai double douce doue douelle douillet douve doux douze
    doyen drache dragon drain drap drenne dry du duc due dumes dunes duras eau eaux ecaille
    echalas echarnant echelle echelles eclaire eclaires eclose ecluse ecluses eclusier ecole
    ecorces ecorches ecot ecu ecueil ecuelle ecuelles ecuisses ecuras ecurat ecurie eglise
    eglises elan elbeuf elier elise elle embrun en encherie encontre engins entier entrains
    entre entrees entrelacs environs epannes epargnes eparses epiais epierre epiez epinant
    epinard epine epineuse epineux equipee erables erigne erre es escale escales esches escot
    esperance espere espoir esprit essai essarts esse est estampes estivaux et etable etables
    etain etais etalon etampes etang etangs etape etoile etrange etroit eu eus eustache evente
    eveque exempt exil fa faches fagne falaise fanais fargues faucher faucon faute faux feins
    felicite felines felon fenouillet fer ferme ferment fermes fermete ferrat ferre ferree
    ferres ferret ferreux fete feu feuilla feuille feuillee feuilles feule feux feves fiacre
    fidele fief fieffes fiefs fiel fier fieu fieux fille fins fiole fion flat fleche fleurat
    fleure fleurie fleurs florence florentin flots flotte foc foi fol folie folies folles fonds
    font fontaine fontainebleau fontaines fontes fonts forain forcats force forestiere foret
    forets forez forge forges fors fort forteresse fortin forts fosse fosses fougerais fougere
    fougeres fouilleuse foulon four fourches fourneaux fourrier fours fox frais franc francais
    francaise francs frene frenes freres fretin frette frettes frise froid fromental front
    frontignan fronton fuisse fumas fume furieuse futaie gaillard gaillarde gal galant galante
    gambier gap garat gardais garde gardes gardon gare garenne garennes garons garrigues gars
    gatine gaucher gaude gaulois gave gay gaz gelais gelat gemeaux gemme gemmes genas genat gene
    genes genet genets genettes genevois genies geniez genou gere germain germaine germaines
    germe germer gerons gesse geste giraumont girolles giron gironde girons givre glacerie
    glaciere glaire gland glandage glane glanes gond gonds gorges gosier gosse gouet goule
    goulet goupil gousse gout gouts gouttieres gouvernes goyave grace graces grain grand grande
    grandes grands grange granges granits gras grasse grau graux grave gravelle graves gray gree
    greez greges grelot grenade grenant grenier grenouilles gres greve greves grignon grillon
    grimaud grisolles grives gros groseilles grottes grue grues gruge gue gueret guerets guette
    gueux guiche guignes guillaume guillon guise h habit habitants haie haies haleine halles
    hameau hameaux han hanches haras hard hareng harengere hauban haussez haut haute hautes
    hauts havre hem henne henry herbasse herbe herbiers heres herisson hermes hermine heron
    heureux hilaire home homme hommes hongre honorat honore hopital hopitaux hors hotel
    hotellerie houat houblonniere houdan houilles houlette housse housseras housset houx huez
    huile huis huisserie humes hune hure i if ifs ile iles indien innocence innocent irai irais
    ire isola issus jacques jalons jard jardin jarret jars jas jasses jean jeu jeune jeux job
    joie joli jolie jonc jonchere jongleurs joseph joue jouet jour jours joute joutes joyeuse
    joyeux juger juif juifs julien julienne jumeaux jumel jumelles juntes jure jury kirsch
    kremlin l la labrit lac lacasse lache lacs laguiole laines lais laitiers laize lama lamee
    lance lancon landau lande landerneau landes lange langeais lanterne laps las lasse lattes
    laure laurent lauze lavis laye layon le leches legal lege leger lemmes lent lentilles lento
    leonard les lettre lettree leu levas levee levees leves levier lez liards lias libre lie
    liege lier lierre lies liesse lieu lieue lieux liez ligne lilas limas lime limoges limon
    limons lin linge linotte lion lionne lions lire lisse lisses lit livarot livet livre loche
    loches lods loge loges loir lombard londres long longeron longes longue longues lorette
    lorrain lorraine lorry lot louches loue louer loueuse lougres louis loup loupe loupes loups
    lourde lourdes loures loutre louvent louvet loyer lu lue luisant lumes lunaire lune lus
    lusse lutter lux luxe luzerne lyre lys m mache machine maclas macon maconnaise madame
    madeleine madre mage magenta mages magnan magnant magnas magnat magne maillas maillat maille
    maillet maillot maillots main maire maison maisonnettes maisons male maltat mana mande
    manoeuvre manoir mans manse mantes manuel marais marc marchais marche marches mare marechal
    marennes marges marguerite maria marie maries marigot marin marines mariol marions marne
    marnes maroilles marque marques marquette marquise marre marron mars marsault martel martial
    martin martinet martre martres martyre mas massais massas massat mathieu mathurin maure
    maures mauves maux max maxime maye meaux medis medoc mela mele melezes meme menat mene menez
    mens menton menus mer mercier mercure mere merle merles mers messe messieurs metairies
    meules meulieres meures meursault meuse mezieres mi mieux mignon migre milieu millas mimosas
    minerve mines minier minot mire mirepoix miroir miroirs misse mitre mixe moeres moeurs moine
    moines moire moisson moita mole molene molette molles mollettes mollo monastere monceau
    monceaux monial monnaie mont montagne montagnes montant montat monte montjoie montmorency
    montoir monts montueux more morillon morne mort morte mortes mortiers motel motte mouchard
    mouche mouches mouettes mouille moule moules mouliere moulieres moulin moulines moulinet
    moulins moulons moult mouriez mouron mousse mousson moutier mouton moutonne moye moyen mue
    mulatre munster mur murat mure mures muret murette murs mus nages nais naives national
    nattages ne neant nectaire nef neons neuf neufchatel neufs neuve neuves nicodeme nids nie
    nielles nivelle noble nobles noce noel noeud noeuds noir noire nom nord normand normande
    normee norrois notre noue noues nouvel nouvelle noves noyant noye noyer noyers nuits o
    observatoire ocean ocre oeuf oie oiseau oison olive olivet oliviers olle ombree ombres omet
    ondes ongles onzain opportune or oraison orange oree orge orgelet orges orgueil orgueilleuse
    orgueilleux orgues orin ormeaux ormes orne ornes orques ors os osier ost ota ouche ouest
    ourdis ours oust ouste outille outre outremer ovin oye pachas pageas paille paillet pair pal
    palais palis palisse palmas palme palud palus panat pancrace pannes pantin pape papion
    parade parc parce parcs pardon pareage parent paris parisis parois paroisse paroisses pars
    pas passa passage passais passavant pate pater paterne patrice patrouille patte paulien
    paumes pauvre pauvres pavant pavie pavillon pavillons pays pe peage pean peille peintre
    peintures pelerin pelouse pende pendit pendue pene penil penne percee perche pere perennes
    peri perigourdins perigueux perles perron pers persan pertes pertuis pesse petit petite
    petites peuple peux peze phare pian piano pie pied pierre pierres pietat pieux pila pile
    piles pilles pilote pin pince pineaux pins pionnat pire pis pithiviers pitre pitres place
    places plage plages plaigne plain plaine plaines plains plaisance plaisir plan planche
    plancher planchers planches planchez planee planes planezes planque planques plans plantaire
    plante plateau platres plats pleine pleure pleurs plombieres poche poeles poids poil poincon
    point pointe points poire pois poisson poissons poitevine poivre poivres poix pole pommera
    pommier pommiers pompon pomponne ponce ponceaux pont pontet ponts populeuse porcheres
    porcherie port porta porte portes porto ports poses possession poste pot poterie poteries
    potier pots pou pouille pouilly poulain poulaines poule poulet prairie pre preaux precheur
    precieux premieres premiers premontre pres presle presque pressoir preste preuve preux
    prieres prieure priez primat prince prisse privas privat prive prix projet propre prouvais
    provin provins prune pruniers publier pucelle puits pure putois puy python quarante quarre
    quarte quartier quarts quatre quelles quernes queue quimper quint quintal quinte ra rabat
    rablais racines rai raids ramasse rame ramee rance rances rancon randonnai rang rapa ratel
    ratier ratieres raves ravieres ray raye re real reaux reconduit recourt reculas redonne
    redoux reez regard regis regle regnat regulier reine reins rejet relevant remouille remparts
    remuee renard rene renne rennes rentieres repara replonges repons repos reposoir restitue
    retourne reunion reveillon reverend ri ria rias riche richelieu riches rideau riel riez
    rigole rimons rions ris rivas rive rives riviere rivieres roc roche rocher rochers roches
    rocheux rocque rocques rodes rodez rogna rognes rognon rogue rogues roi roide romain romaine
    roman romance romand romanee romans ronce rond ronde rondelles ronds rongeant roque
    roquefort roquelaure roques roquette roquettes rose roses rosier rosiere rosieres rosiers
    rosis rossignol rotes rotin rotonde rots rouelle rouerie rouet rouez rouge rouges rouget
    rouille roule roulier rousse rousses routes routier rouvre rouvres roux royal royale royans
    rue ruelle rues rustiques sabine sable sables sablieres sablonnieres sablons sabres sache
    sai saignes saillant saillat sain sains salat sale salee sales salies salin salines salins
    salives salle salles salon salves sana sancerre sancerrois sans santes sapins sarcelles sari
    sarrancolin sassenage saturnin saules saunier sauniere saunieres saurais saurat sauternes
    sauvage sauvages sauvant sauvat sauve sauves sauvete sauveur savonnieres saxon sceau sceaux
    scelles scie sciez scille sec secheras seches secourt secret segala seiche seiches seigneurs
    seille seillons sein seine sel selle selles seltz selve semeuse semons sen senat senaux sene
    sens sentinelle sept septmoncel sepulcre sequestre serein sereine serez serge series serpent
    serra serre serres sers servais serval servant serve serves servies ses seuil seve severe
    seves sevis sevrai sevre sevres sieges sienne signes signets simple sir sire six sixte soc
    sode soie solin sombre sommaire sommant somme sommeilles son songeons sonnette sons sorbets
    sorbier sorbiers sore sorgue sorgues sort sorts souche soucia soudain soudaine soudan soudat
    soude soues souille soula soulages souligne soupir source sources sourd sous souterraine
    soutiers soyer soyers soyons suc suce sud suisse sur sure surin suris survie sus sylvain
    sylvains sylve sylvestre syndicat table tablier tache taillades taillant taille taillee
    taillis tain talais talant taller talon talus tampon taponnat tarare tardais tardes targe
    tartre tasse taule taux tavernes taxat te teille teinturiere temple templier templiers tende
    tendon tendron tendu teneur tenu terce termes ternes terrasse terre terres terrier tertre
    tertres tesson teste thermes thons tierce tiercelet tiercent tillac tille tilles tilleul
    tilleuls tirent titre toges toits tombe tombes tonne tonnerre tort touche touches touille
    tour tourbe tourbes tournai tournas tourne tournedos tournee tournes tourneur tours
    toussaint trait tranche transit trappe trappes trefle treille treilles treize trente tresse
    tresses treteau treve treves trevise tricot trie trilla trimer trinite tripiers troche trois
    tronche tronchet truites tuilerie tuileries tuiliere tulle union urbain uree us usage usages
    vacheres vacherie vaillant vains vair vaire val valence valenciennes valentin valerien
    vallee vallees vallon vallons valouse vals vanne vanneau vannes vans var varaignes varans
    varenne varois vaudeville vaudois vaux vedas velars velin velu venant venas vendes vendomois
    vendue venelles venere venes venette veneur vengeons vent ventes ventouse vents ver verdier
    vereux verge verger vergers verges vergne verin verines vernaux verne vernie vernier
    verrerie verreries verriere verrieres verrue vers vert verts vertu vertueux vertus vetu
    veules veuve veuves via vichy vicomte vicomtesse victoire vidai vidame videlles vie vieil
    vieille vieilles viella vielle vienne viennois viens vieux vif vigne vigneaux vignes
    vignoble vignon vignot vilaine village villages villas ville villes vin vineuse vineux vins
    violes viols vira vire vireux vis visa vit vital vite vitrai vitre vitreux vives vivier
    viviers viviez vogue voie voies voir voire voise voisines voisins voltaire voue vouvray
    voyer vraie vue wallon y
    """
)

NOT_PLACES = LEXICON_IN_NAMES | FIRST_NAMES | COMMON
