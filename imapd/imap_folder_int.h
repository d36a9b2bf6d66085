/*
 * imap_folder_int.h - what imap_folder.c and imap_folder_ops.c share and
 * nobody else sees.
 */
#ifndef POSTERN_IMAP_FOLDER_INT_H
#define POSTERN_IMAP_FOLDER_INT_H

/*
 * The table's tree order: component by component, so that a name's
 * descendants follow it together ('.' sorts before any byte a name may
 * hold).
 */
int	folder_name_cmp(const char *, const char *);
/* 1 a directory (through a symlink), 0 none, -1 error. */
int	folder_is_dir(const char *path);
/* Subscriptions of from and from.* become to and to.* (under the lock). */
int	folder_subs_rename(const char *from, const char *to);

#endif
