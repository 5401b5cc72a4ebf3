/*
 * interval_tree.h - an augmented AVL interval tree (core-internal).
 *
 * Maps closed 64-bit intervals [start, last] to the objects that embed a
 * struct itree_node, for the address -> reservation and port -> handler
 * lookups on the exit path.  The tree is keyed by start (ties broken by node
 * address, so equal starts are allowed) and each node carries the largest
 * `last` of its subtree, which lets an overlap query skip every subtree that
 * ends before the queried range: a lookup is O(log n) and the height stays
 * within 1.44 log2(n) because the tree is AVL-balanced.
 *
 * The tree itself allows overlapping intervals; callers that want disjoint
 * ranges (reservations, port ranges) check with itree_first_overlap() before
 * inserting.  Closed intervals let a range end at UINT64_MAX.
 *
 * Nodes are intrusive: the tree never allocates.  No locking: the caller
 * serialises writers against readers.
 */
#ifndef VMMKIT_CORE_INTERVAL_TREE_H
#define VMMKIT_CORE_INTERVAL_TREE_H

#include <stddef.h>
#include <stdint.h>

struct itree_node {
    uint64_t start;    /* first value covered; set before itree_insert() */
    uint64_t last;     /* last value covered (inclusive), >= start */
    uint64_t max_last; /* largest `last` in this subtree (maintained by the tree) */
    struct itree_node *left, *right;
    int height; /* of this subtree, a leaf is 1 */
};

struct itree {
    struct itree_node *root;
    size_t count;
};

/* Get the object embedding node @ptr as its @member. */
#define itree_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Make @t empty. */
void itree_init(struct itree *t);

/*
 * Insert @n, whose start and last are set (start <= last).  Never fails; the
 * tree does not check for overlaps.
 */
void itree_insert(struct itree *t, struct itree_node *n);

/* Remove @n, which must be in @t. */
void itree_remove(struct itree *t, struct itree_node *n);

/*
 * The node with the lowest start among those overlapping [@start, @last],
 * or NULL when none does.
 */
struct itree_node *itree_first_overlap(const struct itree *t, uint64_t start, uint64_t last);

/* The node with the lowest start among those containing @point, or NULL. */
struct itree_node *itree_lookup(const struct itree *t, uint64_t point);

/*
 * Call @fn on every node overlapping [@start, @last], in start order.  @fn
 * returns 0 to go on or non-zero to stop; that value is returned (0 when the
 * walk completed).  @fn must not modify the tree.
 */
int itree_foreach_overlap(const struct itree *t, uint64_t start, uint64_t last,
                          int (*fn)(struct itree_node *n, void *ctx), void *ctx);

/*
 * The node with the lowest start, or NULL when the tree is empty (to drain
 * a tree: while ((n = itree_first(t))) { itree_remove(t, n); ... }).
 */
struct itree_node *itree_first(const struct itree *t);

#endif
