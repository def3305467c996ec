"""Name frequency tables for bench/people_zipf.py: the head of the real distributions.

Counts are rounded from the US Census 2010 surname list and the US Social Security
given-name tallies (people alive in 2010); only their shape matters here: a handful
of names are carried by a large share of people, then a long tail. The generator
continues each table with a Zipf tail of made-up names (people_zipf.py).
"""

from __future__ import annotations

# Surname, people (thousands).
SURNAMES = """
Smith 2443 Johnson 1933 Williams 1625 Brown 1437 Jones 1425 Garcia 1166 Miller 1161
Davis 1116 Rodriguez 1095 Martinez 1060 Hernandez 1044 Lopez 874 Gonzalez 841 Wilson 801
Anderson 784 Thomas 756 Taylor 751 Moore 724 Jackson 708 Martin 702 Lee 693 Perez 681
Thompson 664 White 660 Harris 624 Sanchez 612 Clark 562 Ramirez 557 Lewis 531 Robinson 529
Walker 523 Young 484 Allen 482 King 465 Wright 458 Scott 439 Torres 437 Nguyen 437 Hill 434
Flores 433 Green 430 Adams 428 Nelson 424 Baker 420 Hall 407 Rivera 391 Campbell 386
Mitchell 384 Carter 377 Roberts 376 Gomez 366 Phillips 351 Evans 343 Turner 338 Diaz 335
Parker 330 Cruz 326 Edwards 320 Collins 318 Reyes 316 Stewart 312 Morris 303 Morales 303
Murphy 300 Cook 294 Rogers 294 Gutierrez 285 Ortiz 284 Morgan 283 Cooper 280 Peterson 278
Bailey 277 Reed 277 Kelly 268 Howard 266 Ramos 264 Kim 264 Cox 262 Ward 261 Richardson 260
Watson 254 Brooks 252 Chavez 251 Wood 251 James 250 Bennett 248 Gray 247 Mendoza 243
Ruiz 240 Hughes 238 Price 237 Alvarez 236 Castillo 231 Sanders 231 Patel 229 Myers 229
Long 228 Ross 227 Foster 226 Jimenez 225 Powell 218 Jenkins 217 Perry 216 Russell 214
Sullivan 213 Bell 212 Coleman 211 Butler 211 Henderson 210 Barnes 210 Gonzales 209
Fisher 205 Vasquez 204 Simmons 202 Romero 198 Jordan 198 Patterson 197 Alexander 196
Hamilton 195 Graham 193 Reynolds 191 Griffin 190 Wallace 190 Moreno 189 West 187 Cole 185
Hayes 185 Bryant 184 Herrera 184 Gibson 183 Ellis 183 Tran 182 Medina 181 Aguilar 180
Stevens 179 Murray 179 Ford 178 Castro 177 Marshall 177 Owens 177 Harrison 176
Fernandez 175 McDonald 174 Woods 174 Washington 173 Kennedy 173 Wells 172 Vargas 171
Henry 171 Chen 170 Freeman 167 Webb 166 Tucker 166 Guzman 165 Burns 165 Crawford 165
Olson 164 Simpson 164 Porter 163 Hunter 163 Gordon 163 Mendez 162 Silva 161 Shaw 161
Snyder 159 Mason 159 Dixon 158 Munoz 158 Hunt 158 Hicks 158 Holmes 157 Palmer 156
Wagner 155 Black 154 Robertson 154 Boyd 153 Rose 152 Stone 152 Salazar 151 Fox 150
Warren 150 Mills 149 Meyer 149 Rice 148 Schmidt 148 Garza 148 Daniels 146 Ferguson 146
Nichols 145 Stephens 144 Soto 144 Weaver 143 Ryan 143 Gardner 142 Payne 142 Grant 141
Dunn 141 Kelley 140 Spencer 140 Hawkins 140 Arnold 139 Pierce 139 Vazquez 138 Hansen 138
Peters 137 Santos 137 Hart 137 Bradley 136 Knight 136 Elliott 135 Cunningham 135
Duncan 135 Armstrong 134 Hudson 134 Carroll 133 Lane 133 Riley 132 Andrews 132
Alvarado 131 Ray 131 Delgado 130 Berry 130 Perkins 130 Hoffman 129 Johnston 129
Matthews 128 Pena 128 Richards 128 Contreras 127 Willis 127 Carpenter 126 Lawrence 126
Sandoval 125 Guerrero 125 George 125 Chapman 124 Rios 124 Estrada 124 Ortega 123
Watkins 123 Greene 123 Nunez 122 Wheeler 122 Valdez 121 Harper 121 Burke 120 Larson 120
Santiago 120 Maldonado 119 Morrison 119 Franklin 119 Carlson 118 Austin 118 Dominguez 117
Carr 117 Lawson 116 Jacobs 116 OBrien 115 Lynch 115 Singh 115 Vega 114 Bishop 114
Montgomery 113 Oliver 113 Jensen 112 Harvey 112 Williamson 112 Gilbert 111 Dean 111
Sims 110 Espinoza 110 Howell 110 Li 109 Wong 109 Reid 109 Hanson 108 Le 108 McCoy 107
Garrett 107 Burton 107 Fuller 106 Wang 106 Weber 105 Welch 105 Rojas 105 Lucas 104
Marquez 104 Fields 104 Park 103 Yang 103 Little 102 Banks 102 Padilla 102 Day 101
Walsh 101 Bowman 101 Schultz 100 Luna 100 Fowler 100 Mejia 99 Davidson 99 Acosta 98
Brewer 98 May 98 Holland 98 Juarez 97 Newman 97 Pearson 97 Curtis 97 Cortez 96
Douglas 96 Schneider 96 Joseph 96 Barrett 95 Navarro 95 Figueroa 95 Keller 95 Avila 94
Wade 94 Molina 94 Stanley 94 Hopkins 94 Campos 93 Barnett 93 Bates 93 Chambers 92
Caldwell 92 Beck 92 Lambert 91 Miranda 91 Byrd 91 Craig 91 Ayala 90 Lowe 90 Frazier 90
Powers 90 Neal 90 Leonard 89 Gregory 89 Carrillo 89 Sutton 88 Fleming 88 Rhodes 88
Shelton 88 Schwartz 88 Norris 87 Jennings 87 Watts 87 Duran 87 Walters 87 Cohen 86
McDaniel 86 Moran 86 Parks 86 Steele 86 Vaughn 86 Becker 85 Holt 85 DeLeon 85 Barker 85
Terry 85 Hale 85 Leon 85 Hail 84 Benson 84 Haynes 84 Horton 84 Miles 84 Lyons 84 Pham 84
"""

# Given name, sex (F/M), people (thousands).
FIRST_NAMES = """
James M 4840 John M 4570 Robert M 4550 Michael M 4300 William M 3690 David M 3550
Richard M 2390 Joseph M 2290 Thomas M 2160 Charles M 2130 Christopher M 1990 Daniel M 1800
Matthew M 1530 Anthony M 1380 Donald M 1360 Mark M 1320 Paul M 1260 Steven M 1250
Andrew M 1200 Kenneth M 1130 Joshua M 1100 Kevin M 1090 Brian M 1090 George M 1080
Edward M 960 Ronald M 950 Timothy M 930 Jason M 910 Jeffrey M 880 Ryan M 830 Jacob M 790
Gary M 790 Nicholas M 770 Eric M 750 Jonathan M 740 Stephen M 730 Larry M 700 Justin M 690
Scott M 680 Brandon M 660 Benjamin M 620 Samuel M 610 Frank M 590 Gregory M 590
Raymond M 580 Alexander M 570 Patrick M 570 Jack M 560 Dennis M 550 Jerry M 550 Tyler M 540
Aaron M 530 Jose M 520 Henry M 510 Adam M 500 Douglas M 490 Nathan M 480 Peter M 470
Zachary M 460 Kyle M 450 Walter M 440 Harold M 410 Jeremy M 400 Ethan M 390 Carl M 380
Keith M 380 Roger M 370 Gerald M 370 Christian M 360 Terry M 350 Sean M 350 Arthur M 340
Austin M 330 Noah M 320 Lawrence M 320 Jesse M 310 Joe M 310 Bryan M 300 Billy M 300
Jordan M 290 Albert M 290 Dylan M 280 Bruce M 280 Willie M 270 Gabriel M 270 Alan M 270
Juan M 260 Logan M 250 Wayne M 250 Ralph M 250 Roy M 250 Eugene M 240 Randy M 240
Vincent M 240 Russell M 230 Louis M 230 Philip M 230 Bobby M 230 Johnny M 230 Bradley M 220
Mary F 3200 Patricia F 1560 Jennifer F 1470 Linda F 1450 Elizabeth F 1420 Barbara F 1400
Susan F 1100 Jessica F 1050 Sarah F 990 Karen F 980 Lisa F 960 Nancy F 940 Betty F 930
Margaret F 920 Sandra F 880 Ashley F 860 Kimberly F 830 Emily F 830 Donna F 820 Michelle F 810
Carol F 800 Amanda F 780 Dorothy F 770 Melissa F 750 Deborah F 740 Stephanie F 720
Rebecca F 700 Sharon F 690 Laura F 680 Cynthia F 670 Kathleen F 660 Amy F 640 Angela F 630
Shirley F 620 Anna F 610 Brenda F 600 Pamela F 590 Emma F 580 Nicole F 570 Helen F 560
Samantha F 550 Katherine F 540 Christine F 530 Debra F 520 Rachel F 510 Carolyn F 500
Janet F 490 Catherine F 480 Maria F 470 Heather F 460 Diane F 450 Ruth F 440 Julie F 430
Olivia F 420 Joyce F 410 Virginia F 400 Victoria F 390 Kelly F 380 Lauren F 370 Christina F 360
Joan F 350 Evelyn F 340 Judith F 330 Megan F 320 Andrea F 310 Cheryl F 300 Hannah F 290
Jacqueline F 280 Martha F 270 Gloria F 260 Teresa F 250 Ann F 240 Sara F 230 Madison F 220
Frances F 210 Kathryn F 200 Janice F 190 Jean F 180 Abigail F 170 Alice F 160 Judy F 150
Sophia F 150 Grace F 140 Denise F 140 Amber F 130 Doris F 130 Marilyn F 120 Danielle F 120
"""

# Formal name -> what the same person writes on a form.
NICKNAMES = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Richard": ("Rick", "Dick", "Rich"),
    "Michael": ("Mike", "Mikey"),
    "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"),
    "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "Kenneth": ("Ken", "Kenny"),
    "Joshua": ("Josh",),
    "Edward": ("Ed", "Ted", "Eddie"),
    "Timothy": ("Tim",),
    "Jeffrey": ("Jeff",),
    "Nicholas": ("Nick",),
    "Jonathan": ("Jon",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Gregory": ("Greg",),
    "Alexander": ("Alex",),
    "Patrick": ("Pat",),
    "Zachary": ("Zach",),
    "Gerald": ("Jerry",),
    "Lawrence": ("Larry",),
    "Douglas": ("Doug",),
    "Elizabeth": ("Liz", "Beth", "Betty", "Eliza"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Jennifer": ("Jen", "Jenny"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Susan": ("Sue", "Suzy"),
    "Jessica": ("Jess",),
    "Deborah": ("Debbie", "Deb"),
    "Debra": ("Debbie",),
    "Kimberly": ("Kim",),
    "Barbara": ("Barb",),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Kathleen": ("Kathy", "Kate"),
    "Catherine": ("Cathy", "Kate"),
    "Christine": ("Chris", "Chrissy"),
    "Rebecca": ("Becky",),
    "Samantha": ("Sam",),
    "Victoria": ("Vicky", "Tori"),
    "Pamela": ("Pam",),
    "Cynthia": ("Cindy",),
    "Stephanie": ("Steph",),
    "Abigail": ("Abby",),
    "Judith": ("Judy",),
    "Dorothy": ("Dot", "Dottie"),
}


def parse(table: str, columns: int) -> list[tuple[str, ...]]:
    """Whitespace-separated rows of `columns` cells each."""
    cells = table.split()
    if len(cells) % columns:
        raise ValueError(f"a name table has {len(cells)} cells, not a multiple of {columns}")
    return [tuple(cells[i : i + columns]) for i in range(0, len(cells), columns)]
