/*
 * interval_tree.c - augmented AVL interval tree (see interval_tree.h).
 *
 * Insert and remove are recursive; the recursion depth is the tree height,
 * at most about 1.44 log2(n) (under 100 for any n that fits in memory).
 */
#include "core/interval_tree.h"

#include <stdbool.h>

static int height(const struct itree_node *n)
{
    return n ? n->height : 0;
}

/* Recompute @n's height and max_last from its children. */
static void update(struct itree_node *n)
{
    int hl = height(n->left), hr = height(n->right);
    n->height = (hl > hr ? hl : hr) + 1;
    n->max_last = n->last;
    if (n->left && n->left->max_last > n->max_last) {
        n->max_last = n->left->max_last;
    }
    if (n->right && n->right->max_last > n->max_last) {
        n->max_last = n->right->max_last;
    }
}

static struct itree_node *rotate_right(struct itree_node *n)
{
    struct itree_node *l = n->left;
    n->left = l->right;
    l->right = n;
    update(n);
    update(l);
    return l;
}

static struct itree_node *rotate_left(struct itree_node *n)
{
    struct itree_node *r = n->right;
    n->right = r->left;
    r->left = n;
    update(n);
    update(r);
    return r;
}

/* Restore the AVL property at @n (children already balanced); returns the new subtree root. */
static struct itree_node *rebalance(struct itree_node *n)
{
    update(n);
    int bal = height(n->left) - height(n->right);
    if (bal > 1) {
        if (height(n->left->left) < height(n->left->right)) {
            n->left = rotate_left(n->left);
        }
        return rotate_right(n);
    }
    if (bal < -1) {
        if (height(n->right->right) < height(n->right->left)) {
            n->right = rotate_right(n->right);
        }
        return rotate_left(n);
    }
    return n;
}

/* Total order on nodes: by start, then by address (so equal starts coexist). */
static bool node_less(const struct itree_node *a, const struct itree_node *b)
{
    if (a->start != b->start) {
        return a->start < b->start;
    }
    return (uintptr_t)a < (uintptr_t)b;
}

static struct itree_node *insert_at(struct itree_node *root, struct itree_node *n)
{
    if (!root) {
        return n;
    }
    if (node_less(n, root)) {
        root->left = insert_at(root->left, n);
    } else {
        root->right = insert_at(root->right, n);
    }
    return rebalance(root);
}

static struct itree_node *remove_min(struct itree_node *root, struct itree_node **min)
{
    if (!root->left) {
        *min = root;
        return root->right;
    }
    root->left = remove_min(root->left, min);
    return rebalance(root);
}

static struct itree_node *remove_at(struct itree_node *root, struct itree_node *n)
{
    if (!root) {
        return NULL; /* not in the tree: leave it unchanged */
    }
    if (root == n) {
        if (!n->left) {
            return n->right;
        }
        if (!n->right) {
            return n->left;
        }
        struct itree_node *succ;
        struct itree_node *right = remove_min(n->right, &succ);
        succ->left = n->left;
        succ->right = right;
        return rebalance(succ);
    }
    if (node_less(n, root)) {
        root->left = remove_at(root->left, n);
    } else {
        root->right = remove_at(root->right, n);
    }
    return rebalance(root);
}

void itree_init(struct itree *t)
{
    t->root = NULL;
    t->count = 0;
}

void itree_insert(struct itree *t, struct itree_node *n)
{
    n->left = n->right = NULL;
    n->height = 1;
    n->max_last = n->last;
    t->root = insert_at(t->root, n);
    t->count++;
}

void itree_remove(struct itree *t, struct itree_node *n)
{
    t->root = remove_at(t->root, n);
    n->left = n->right = NULL;
    t->count--;
}

struct itree_node *itree_first_overlap(const struct itree *t, uint64_t start, uint64_t last)
{
    struct itree_node *n = t->root;

    while (n) {
        /*
         * If the left subtree reaches @start, the answer is there or nowhere:
         * the interval reaching @start starts at or before n->start, so if it
         * begins after @last, so does everything at n and to its right.
         */
        if (n->left && n->left->max_last >= start) {
            n = n->left;
            continue;
        }
        if (n->start > last) {
            return NULL;
        }
        if (n->last >= start) {
            return n;
        }
        n = n->right;
        if (n && n->max_last < start) {
            return NULL;
        }
    }
    return NULL;
}

struct itree_node *itree_lookup(const struct itree *t, uint64_t point)
{
    return itree_first_overlap(t, point, point);
}

static int foreach_at(struct itree_node *n, uint64_t start, uint64_t last,
                      int (*fn)(struct itree_node *n, void *ctx), void *ctx)
{
    int rc;

    if (!n || n->max_last < start) {
        return 0;
    }
    if ((rc = foreach_at(n->left, start, last, fn, ctx)) != 0) {
        return rc;
    }
    if (n->start > last) {
        return 0; /* n and its right subtree all start after the range */
    }
    if (n->last >= start && (rc = fn(n, ctx)) != 0) {
        return rc;
    }
    return foreach_at(n->right, start, last, fn, ctx);
}

int itree_foreach_overlap(const struct itree *t, uint64_t start, uint64_t last,
                          int (*fn)(struct itree_node *n, void *ctx), void *ctx)
{
    return foreach_at(t->root, start, last, fn, ctx);
}

struct itree_node *itree_first(const struct itree *t)
{
    struct itree_node *n = t->root;
    while (n && n->left) {
        n = n->left;
    }
    return n;
}
