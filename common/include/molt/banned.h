/* Functions no molt file may call (git's banned.h). Include last. */
#ifndef MOLT_BANNED_H
#define MOLT_BANNED_H

#define MOLT_BANNED(func) sorry_##func##_is_banned_in_molt

#undef strcpy
#define strcpy(x, y) MOLT_BANNED(strcpy)
#undef strcat
#define strcat(x, y) MOLT_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) MOLT_BANNED(strncpy)
#undef sprintf
#define sprintf(...) MOLT_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) MOLT_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) MOLT_BANNED(strtok)
#undef localtime
#define localtime(t) MOLT_BANNED(localtime)
#undef gmtime
#define gmtime(t) MOLT_BANNED(gmtime)
#undef ctime
#define ctime(t) MOLT_BANNED(ctime)
#undef asctime
#define asctime(t) MOLT_BANNED(asctime)

#endif
