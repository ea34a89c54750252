// The recordings pages (filled by their issue).
export const recordingsRoutes = [];
