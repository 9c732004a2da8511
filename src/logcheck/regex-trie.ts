/**
 * @module logcheck/regex-trie
 * Many regular-expression branches (each a list of piece sources, logcheck/ere) as one RegExp
 * source that tries a shared prefix once: `AB|AC` becomes `A(?:B|C)`. For "does any branch match"
 * the two accept the same lines, and a branch that is a prefix of another makes the longer one
 * redundant, so the merge is exact (logcheck/rules explains why it matters).
 */

interface TrieNode {
  /** A branch ends here: whatever follows cannot change the answer. */
  end: boolean;
  next: Map<string, TrieNode>;
}

function trieNode(): TrieNode {
  return { end: false, next: new Map() };
}

function insert(root: TrieNode, pieces: readonly string[], from: number): void {
  let node = root;
  for (let i = from; i < pieces.length; i++) {
    if (node.end) return;
    const piece = pieces[i] as string;
    let child = node.next.get(piece);
    if (child === undefined) {
      child = trieNode();
      node.next.set(piece, child);
    }
    node = child;
  }
  node.end = true;
  node.next.clear();
}

/** The RegExp source accepting exactly the piece sequences of the trie below `node`. */
function emit(node: TrieNode): string {
  if (node.end) return '';
  const alternatives: string[] = [];
  for (const [piece, child] of node.next) alternatives.push(piece + emit(child));
  return alternatives.length === 1 ? (alternatives[0] as string) : `(?:${alternatives.join('|')})`;
}

/** One source accepting what any of `branches` (from piece `from` on) accepts; '' when one is empty. */
export function trieSource(branches: readonly (readonly string[])[], from = 0): string {
  const root = trieNode();
  for (const b of branches) insert(root, b, from);
  return emit(root);
}
